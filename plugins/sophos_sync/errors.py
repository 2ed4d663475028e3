"""The named failures of a sync. Each message says what happened and what to do; none carries a secret."""


class SophosSyncError(Exception):
    """Base class: anything the sync reports to a person."""


class ConfigurationError(SophosSyncError):
    """Settings or connections are wrong; retrying will not help."""


class MigrationChecksumMismatch(ConfigurationError):
    """A migration file changed after the database applied it: its schema may not be what the file says."""

    def __init__(self, version: str, applied_checksum: str, file_checksum: str):
        self.version, self.applied_checksum, self.file_checksum = version, applied_checksum, file_checksum
        super().__init__(
            f"migration {version}.sql changed after it was applied: sha256 when applied "
            f"{applied_checksum}, now {file_checksum}. Applied migrations are never edited: restore the file "
            f"and put the change in a new migration"
        )


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
