"""Who receives alerts: phone numbers, the town halls' CSV import, RGPD requests, and the subscriber
index that zones are matched against."""
