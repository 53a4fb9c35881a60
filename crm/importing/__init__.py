"""CSV import of customers and orders: :func:`import_csv` and its :class:`ImportReport`.

What an import does, decided here:

* **Files**: UTF-8 (with or without BOM), else GB18030 (a superset of GBK), or UTF-16
  with a BOM; comma, semicolon, tab or pipe delimiters (csv.Sniffer, checked on the
  header). Rows are streamed and written in batches (``IMPORT_BATCH_SIZE``), each in
  one transaction; a batch that fails is rolled back whole and the import stops there.
* **Matching**: a customer by external id, else by email (trimmed, lower-cased); an
  order by external id. A row repeating an earlier one (emails differing only in
  case included) is the same record: the later row's values win. Orders without an
  id get one derived from the row's content (``row-<hash>``, ``-2``... for identical
  rows), so re-importing a file creates nothing new.
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
  (``IMPORT_USE_COPY``, ``IMPORT_WRITER_THREAD``).

Modules: ``reading`` (encoding, delimiter, records), ``mapping`` (fields and column
mappings), ``values`` (one cell), ``rows`` (one record), ``upsert`` (one batch),
``writers`` (ORM or COPY), ``service`` (the whole file), ``cli`` (the commands),
``admin_views`` (the admin's import page and exports).
"""

from .mapping import ImportMapping, read_mapping_file, save_column_mapping
from .reading import ImportFileError
from .report import Batch, BatchFailure, Counts, ImportReport, RowError
from .service import import_csv

__all__ = [
    "Batch", "BatchFailure", "Counts", "ImportFileError", "ImportMapping", "ImportReport",
    "RowError", "import_csv", "read_mapping_file", "save_column_mapping",
]
