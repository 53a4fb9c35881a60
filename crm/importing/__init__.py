"""CSV import of customers and orders: :func:`import_csv` and its :class:`ImportReport`.

What an import does, decided here:

* **Files**: UTF-8 (with or without BOM) or UTF-16 with a BOM, else the most plausible
  of ``IMPORT_ENCODINGS`` (GB18030, Windows-1252) as charset-normalizer judges it;
  bytes invalid in the file's encoding make their row an error. Comma, semicolon, tab
  or pipe delimiters (csv.Sniffer, checked on the header). Rows are streamed and
  written in batches (``IMPORT_BATCH_SIZE``), each in one transaction; a batch that
  fails is rolled back whole and the import stops there.
* **Matching**: a customer by external id, else by email (trimmed, lower-cased); an
  order by external id, else by its import key (a hash of customer, time, amount and
  position among the import's orders with the same three), so re-importing a file,
  or an export of it, creates nothing new. A row repeating an earlier one (emails
  differing only in case included) is the same record: the later row's values win.
  An orders file creates the customers it names and the database does not hold.
* **Money**: amounts are in ``DEFAULT_CURRENCY``; a row in another currency is an
  error unless ``CURRENCY_RATES`` (or ``--rate``) converts it. A negative amount is
  an error unless the order is refunded.
* **Values**: an empty cell (or ``#N/A``, ``N/A``, ``NULL``) keeps the stored value;
  a record whose values would not change is not written (``updated_at`` stays).
  Text is stored as is, formulas included (``=1+2``); the quote an export puts
  before such text is dropped. Columns that are not fields become ``attributes``,
  numbers and true/false typed. An ``age`` column becomes ``attributes["age"]`` and,
  without a birth date, an estimated ``birth_date`` in the year (order date or
  sign-up date, else today) minus the age, flagged ``attributes["birth_date_estimated"]``.
* **Errors**: a bad row is skipped and reported with its line (the header is line 1),
  column and reason; the good rows are written.
* **Speed**: on PostgreSQL rows are written with binary COPY, batches of new records
  skip the lookups, and a second thread writes while the next batch is parsed
  (``IMPORT_USE_COPY``, ``IMPORT_WRITER_THREAD``); a large first import builds the
  secondary indexes after loading (``IMPORT_REBUILD_INDEXES_ROWS``).

After an import that wrote anything, :data:`crm.signals.customers_changed` is sent.

Modules: ``reading`` (encoding, delimiter, records), ``mapping`` (fields and column
mappings, header aliases), ``values`` (one cell), ``rows`` (one record), ``upsert``
(one batch), ``writers`` (ORM or COPY), ``indexes`` (set aside for a large first
import), ``service`` (the whole file), ``cli`` (the commands), ``jobs`` (the admin's
uploaded files), ``labels`` (what the admin calls each field), ``admin_views`` (the
admin's import pages and exports).
"""

from .mapping import ImportMapping, read_mapping_file, save_column_mapping
from .reading import ImportFileError
from .report import Batch, BatchFailure, Counts, ImportReport, RowError
from .service import import_csv

__all__ = [
    "Batch", "BatchFailure", "Counts", "ImportFileError", "ImportMapping", "ImportReport",
    "RowError", "import_csv", "read_mapping_file", "save_column_mapping",
]
