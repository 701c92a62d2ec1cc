"""Alerts from draft to all-clear: the lifecycle (preview, approval, send), follow-ups, the texts,
and the stored hazard zones they target."""
