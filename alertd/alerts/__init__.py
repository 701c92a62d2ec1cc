"""Alerts from draft to all-clear: the lifecycle (preview, approval, send), their status,
follow-ups, the texts and templates, and the stored hazard zones they target."""
