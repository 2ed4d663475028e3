"""The named failures of a sync. Each message says what happened and what to do; none carries a secret."""


class SophosSyncError(Exception):
    """Base class: anything the sync reports to a person."""


class ConfigurationError(SophosSyncError):
    """Settings or connections are wrong; retrying will not help."""


class SophosAuthError(ConfigurationError):
    """Sophos rejected the credentials of a connection."""


class SophosApiError(SophosSyncError):
    """Sophos answered in a way we could not use, after the retries."""


class ReportNotAvailable(SophosSyncError):
    """The billing usage report of the month does not exist (yet): Sophos answered 404."""


class ContractViolation(SophosSyncError):
    """Extracted data broke a data contract as a whole (not row by row); nothing was loaded."""


class RejectionThresholdExceeded(ContractViolation):
    """Too many rows of the month were rejected to trust the rest; nothing was loaded."""


class ReconciliationError(SophosSyncError):
    """What PostgreSQL holds does not add up to what Sophos reported; the month was not committed."""
