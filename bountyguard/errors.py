"""Errors a user can act on. The CLI prints their message (never a traceback) and exits non-zero."""


class BountyguardError(Exception):
    """Base class: the message says what went wrong and where."""

    exit_code = 2


class ConfigError(BountyguardError):
    pass


class LandingError(BountyguardError):
    """The landing folder cannot be read as the contract's tables (missing file or column, bad encoding)."""


class ReportIntegrityError(BountyguardError):
    """A published report does not match its report_sha256: it was changed after publishing."""


class DatabaseBusyError(BountyguardError):
    """Another process holds the DuckDB file."""


class DatabaseUnreadableError(BountyguardError):
    """The DuckDB file exists but cannot be opened (damaged, not a DuckDB file): never recreated."""
