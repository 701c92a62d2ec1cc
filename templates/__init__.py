"""Alert message templates and the SMS text rules (GSM-7/UCS-2, segments, transliteration, cost).
Pure; never imports alertd."""
