"""The crm app's settings: override any key in ``settings.RULECAST_CRM``."""

from .appsettings import AppSettings

DEFAULTS = {
    # Rows written per transaction when importing CSV files.
    "IMPORT_BATCH_SIZE": 5000,
    # The same for a customers file taking the column path (IMPORT_COLUMNS). Measured
    # at 1,000,000 rows: 10,000 or 20,000 saved no time worth having and took the
    # import past 300 MB.
    "IMPORT_COLUMN_BATCH_SIZE": 5000,
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
    # On PostgreSQL, parse a customers file a column at a time (pandas) and COPY its new
    # customers as text; off: row by row (the reference; same results, slower).
    "IMPORT_COLUMNS": True,
    # Encodings tried (charset-normalizer picks one) when a file is not UTF-8 and has no
    # BOM: GB18030 (a superset of GBK) and Windows-1252 (a superset of Latin-1).
    "IMPORT_ENCODINGS": ["gb18030", "cp1252"],
    # Exchange rates into DEFAULT_CURRENCY, e.g. {"EUR": "1.08"} (1 EUR = 1.08 of the
    # shop's currency). A row in a currency without a rate is a row error; with one,
    # its amount is converted and the original kept in the order's attributes.
    "CURRENCY_RATES": {},
    # The admin imports files up to this many rows in the request; larger ones in a
    # Celery task, with a progress bar.
    "IMPORT_INLINE_MAX_ROWS": 5000,
    # On PostgreSQL, an import of at least this many rows into a table this many times
    # smaller drops the table's secondary indexes and rebuilds them at the end (faster
    # than maintaining them row by row). 0 turns it off.
    "IMPORT_REBUILD_INDEXES_ROWS": 50_000,
    # On PostgreSQL, a customers file of at least this many rows going into an empty
    # customers table is imported in one transaction that locks the table (ACCESS
    # EXCLUSIVE: others wait to read it) and builds the unique indexes of email and
    # external id once at the end (see crm.importing.firstload). 0 turns it off.
    "IMPORT_FIRST_LOAD_ROWS": 50_000,
    # Rows per query when exporting CSV (QuerySet.iterator chunk size).
    "EXPORT_CHUNK_SIZE": 2000,
    # Privacy (crm.privacy). Seconds a double opt-in confirmation link stays valid;
    # unconfirmed sign-ups older than this are deleted by the retention task.
    "SIGNUP_CONFIRM_MAX_AGE": 2 * 24 * 3600,
    # Salt of the signed confirmation links.
    "SIGNUP_TOKEN_SALT": "rulecast.crm.signup",
    # Sender of confirmation emails; None: DEFAULT_FROM_EMAIL.
    "SIGNUP_FROM_EMAIL": None,
    # Key of the erased-address hashes (HMAC-SHA256); None: derived from SECRET_KEY.
    # Set it explicitly if SECRET_KEY may rotate, or erased addresses stop matching.
    "ERASURE_HASH_KEY": None,
    # Largest JSON body the API (and the admin's rule field) reads, in bytes...
    "JSON_MAX_BYTES": 2 * 1024 * 1024,
    # ...and deepest nesting of arrays and objects in it: a rule needs under ten.
    "JSON_MAX_DEPTH": 32,
}

crm_settings = AppSettings("RULECAST_CRM", DEFAULTS)
