"""Scheduled and recurring notices (issue 17): rules and their firings (pure), the schedules
stored in PostgreSQL, and the scheduler that one daemon at a time runs inside ``alertd serve``."""
