"""The crm app's settings: override any key in ``settings.RULECAST_CRM``."""

from .appsettings import AppSettings

DEFAULTS = {
    # Rows written per transaction when importing CSV files.
    "IMPORT_BATCH_SIZE": 5000,
    # The shop's currency (ISO 4217): assumed when a file has no currency column, and
    # the one every amount is shown in (rule sentences, profiles, the admin).
    "DEFAULT_CURRENCY": "CNY",
    # Bad rows kept in an import report (all are counted).
    "IMPORT_MAX_REPORTED_ERRORS": 1000,
    # On PostgreSQL, write imported rows with COPY (much faster than INSERT statements).
    "IMPORT_USE_COPY": True,
    # Write batches in a second thread (own connection) while the next one is parsed;
    # not used inside a transaction or for a dry run.
    "IMPORT_WRITER_THREAD": True,
    # Rows per query when exporting CSV (QuerySet.iterator chunk size).
    "EXPORT_CHUNK_SIZE": 2000,
}

crm_settings = AppSettings("RULECAST_CRM", DEFAULTS)
