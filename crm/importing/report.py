"""What an import did: counts, the bad rows and the batches committed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: its line in the file, the column and why."""

    line: int
    column: str
    reason: str
    value: str = ""

    def __str__(self) -> str:
        text = f"line {self.line}: {self.column or '-'}: {self.reason}"
        return f"{text} ({self.value!r})" if self.value else text


@dataclass(frozen=True)
class Counts:
    """Records created, updated and left unchanged, for one model."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    @property
    def written(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class Batch:
    """A run of rows written in one transaction."""

    number: int
    first_line: int
    last_line: int
    rows: int


@dataclass(frozen=True)
class BatchFailure:
    """The batch whose transaction failed; nothing of it was written, and the import stopped."""

    batch: Batch
    error: str


@dataclass(frozen=True)
class ImportReport:
    """The outcome of one :func:`~crm.importing.import_csv` call."""

    kind: str
    dry_run: bool
    encoding: str
    delimiter: str
    rows_read: int
    customers: Counts
    orders: Counts
    duplicates: int
    errors: tuple[RowError, ...]
    error_count: int
    batches_committed: tuple[Batch, ...]
    failure: BatchFailure | None = None
    columns: dict[str, str] = field(default_factory=dict)
    order_lines: int = 0  # rows that were further lines of an order read before
    # Where the columns' names came from: "header" (line 1), "given" (the caller's, for a
    # file without header line), "values" (named from their values), "place" (column_1...).
    column_names: str = "header"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with an admin import job)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """The report :meth:`as_dict` gave (by this version or another: a key this one
        does not know is left out, one it misses takes its default)."""
        failure = data.get("failure")
        known = {f.name for f in fields(cls)}
        return cls(**{
            **{key: value for key, value in data.items() if key in known},
            "customers": Counts(**data["customers"]),
            "orders": Counts(**data["orders"]),
            "errors": tuple(RowError(**error) for error in data["errors"]),
            "batches_committed": tuple(Batch(**batch) for batch in data["batches_committed"]),
            "failure": BatchFailure(Batch(**failure["batch"]), failure["error"])
            if failure else None,
        })

    @property
    def created(self) -> int:
        return self.customers.created + self.orders.created

    @property
    def updated(self) -> int:
        return self.customers.updated + self.orders.updated

    @property
    def unchanged(self) -> int:
        return self.customers.unchanged + self.orders.unchanged

    @property
    def rows_rejected(self) -> int:
        """Rows with at least one error (an error may be file-wide, line 0 excluded)."""
        return len({error.line for error in self.errors if error.line})

    @property
    def completed(self) -> bool:
        """True unless a batch failed and the rest of the file was not read."""
        return self.failure is None

    def summary(self) -> str:
        """One paragraph for a terminal or a log."""
        verb = "would be" if self.dry_run else "were"
        lines = [
            f"{self.rows_read} rows read ({self.encoding}, delimiter {self.delimiter!r}); "
            f"{self.error_count} errors; {self.duplicates} rows repeated an earlier row.",
        ]
        if self.column_names == "values":
            lines.append("No header line: its columns were read as "
                         + ", ".join(self.columns) + " from their values "
                         "(give their names with --columns to choose).")
        if self.kind != "orders" or self.customers.created:
            c = self.customers
            lines.append(
                f"Customers: {c.created} {verb} created, {c.updated} updated, "
                f"{c.unchanged} unchanged."
            )
        if self.kind != "customers":
            o = self.orders
            lines.append(
                f"Orders: {o.created} {verb} created, {o.updated} updated, "
                f"{o.unchanged} unchanged."
                + (f" {self.order_lines} rows were further lines of an order (same order "
                   "id): their amounts and items were added to it." if self.order_lines
                   else "")
            )
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        elif self.batches_committed:
            first, last = self.batches_committed[0], self.batches_committed[-1]
            lines.append(
                f"{len(self.batches_committed)} batches committed "
                f"(lines {first.first_line}-{last.last_line})."
            )
        if self.failure:
            b = self.failure.batch
            lines.append(
                f"Batch {b.number} (lines {b.first_line}-{b.last_line}) failed and was rolled "
                f"back: {self.failure.error}. The import stopped there; run it again to finish "
                "(rows already imported are left unchanged)."
            )
        return "\n".join(lines)
