"""alertd's own exceptions.

Each carries a message written for the person at the keyboard (often the duty officer at night):
what went wrong and what to do about it. The CLI prints the message on one line and exits with
the class's exit code; the HTTP API (alertd/api/problems.py) maps the same classes to HTTP statuses.
"""

from __future__ import annotations


class AlertdError(Exception):
    """Base of every error alertd reports to a person."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(AlertdError):
    """A configuration key is missing, unknown or has a bad value."""

    exit_code = 78  # EX_CONFIG from sysexits.h: service managers know it means "fix the config"


class DatabaseError(AlertdError):
    """The database cannot be reached or refused an operation."""

    exit_code = 69  # EX_UNAVAILABLE
    http_status = 503


class MigrationError(DatabaseError):
    """The schema cannot be brought to the version this alertd needs."""


class ProcessesDied(AlertdError):
    """Processes of the daemon's own (the sign-up pages') keep dying: serve stops rather than
    answer half the time."""

    exit_code = 70  # EX_SOFTWARE


class InputError(AlertdError):
    """Input from a person or a file is invalid; nothing was changed because of it."""

    exit_code = 65  # EX_DATAERR
    http_status = 400


class NotFoundError(AlertdError):
    """The thing named does not exist."""

    exit_code = 66  # EX_NOINPUT
    http_status = 404


class ConflictError(AlertdError):
    """The change would contradict what is already stored."""

    exit_code = 65
    http_status = 409


class ForbiddenError(AlertdError):
    """The operator's role or territory does not allow this."""

    exit_code = 77  # EX_NOPERM
    http_status = 403
