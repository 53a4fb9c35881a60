"""The crm app's settings: override any key in ``settings.RULECAST_CRM``."""

from .appsettings import AppSettings

DEFAULTS = {
    # Rows written per transaction when importing CSV files.
    "IMPORT_BATCH_SIZE": 2000,
    # Currency assumed when a file has no currency column.
    "DEFAULT_CURRENCY": "CNY",
    # Bad rows kept in an import report (all are counted).
    "IMPORT_MAX_REPORTED_ERRORS": 1000,
}

crm_settings = AppSettings("RULECAST_CRM", DEFAULTS)
