"""The crm app's settings: override any key in ``settings.RULECAST_CRM``."""

from .appsettings import AppSettings

DEFAULTS = {
    # Rows written per transaction when importing CSV files.
    "IMPORT_BATCH_SIZE": 5000,
    # Currency assumed when a file has no currency column.
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
    # Largest JSON body the API (and the admin's rule field) reads, in bytes...
    "JSON_MAX_BYTES": 2 * 1024 * 1024,
    # ...and deepest nesting of arrays and objects in it: a rule needs under ten.
    "JSON_MAX_DEPTH": 32,
}

crm_settings = AppSettings("RULECAST_CRM", DEFAULTS)
