"""The crm app's workflows: the CSV import (reads, such as CSV exports, are in
``crm.exporting``)."""

from .importing import (
    ImportFileError,
    ImportMapping,
    ImportReport,
    RowError,
    import_csv,
    read_mapping_file,
    save_column_mapping,
)

__all__ = [
    "ImportFileError", "ImportMapping", "ImportReport", "RowError", "import_csv",
    "read_mapping_file", "save_column_mapping",
]
