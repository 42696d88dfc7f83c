"""What an import did: counts, column notes and every problem found."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from tierwise.errors import ImportValidationError

__all__ = ["ImportRejected", "ImportReport", "Problem"]

LOG_PROBLEMS = 1000
"""At most this many problems are kept in the report JSON of the imports log."""


class Problem(NamedTuple):
    """One reason a row was not imported.

    Attributes
    ----------
    file : str
        The file (or frame source) name.
    row : int or None
        Row as a human counts it: CSV/TSV and Excel rows are spreadsheet rows (the header
        is row 1, the first data row is row 2); JSON Lines rows are line numbers; Parquet,
        JSON arrays and data frames use 1-based record positions.
    column : str or None
        The file's column header the value came from (the canonical column name for
        constants and computed ids; ``None`` for whole-row problems such as key conflicts).
    value : str or None
        The offending text as read (trimmed).
    reason : str
        A sentence naming the canonical column, e.g. ``amount: '-5.00' is negative``.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return f"{self.file} {where}: {self.reason}"


@dataclass
class ImportReport:
    """The outcome of one import.

    ``rows_read == rows_imported + rows_updated + rows_quarantined + rows_duplicate``
    always holds. Counts are file rows: with ``line_items`` a record's outcome counts for
    each of its rows (``rows_combined`` says how many rows were folded into another).
    """

    file: str
    entity: str
    format: str
    import_id: str | None = None
    encoding: str | None = None
    file_sha256: str | None = None
    rows_read: int = 0
    rows_imported: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_combined: int = 0
    customers_created: int = 0
    quarantine_path: str | None = None
    columns_mapped: dict[str, str] = field(default_factory=dict)
    columns_kept: list[str] = field(default_factory=list)
    columns_ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    rejected: bool = False

    @property
    def quarantined_share(self) -> float:
        """Share of the rows read that were quarantined (0 for an empty file)."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def nothing_imported(self) -> bool:
        """Rows were read but none was imported, updated or found already stored."""
        return self.rows_read > 0 and self.rows_quarantined == self.rows_read

    @property
    def ok(self) -> bool:
        """Whether every row was imported, updated or already stored."""
        return self.rows_quarantined == 0

    def check(self) -> None:
        """Assert the counting invariant (a bug if it fails)."""
        total = self.rows_imported + self.rows_updated + self.rows_quarantined + self.rows_duplicate
        if total != self.rows_read:
            raise AssertionError(f"import counts do not add up: {total} != {self.rows_read}")

    def summary(self) -> str:
        """One line for a terminal."""
        parts = [
            f"{self.rows_read:,} read",
            f"{self.rows_imported:,} imported",
            f"{self.rows_updated:,} updated",
            f"{self.rows_duplicate:,} duplicate",
            f"{self.rows_quarantined:,} quarantined",
        ]
        line = f"{self.file} -> {self.entity}: " + ", ".join(parts)
        if self.customers_created:
            line += f"; {self.customers_created:,} customers created"
        if self.rows_combined:
            line += f"; {self.rows_combined:,} line-item rows combined"
        if self.quarantine_path:
            line += f"; quarantine: {self.quarantine_path}"
        if self.rejected:
            line += " (rejected: too many quarantined, nothing written)"
        elif self.dry_run:
            line += " (dry run, nothing written)"
        return line

    def table_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a two-column table (e.g. ``rich.table.Table``)."""
        rows = [
            ("file", self.file),
            ("entity", self.entity),
            ("format", self.format + (f" ({self.encoding})" if self.encoding else "")),
            ("rows read", f"{self.rows_read:,}"),
            ("imported", f"{self.rows_imported:,}"),
            ("updated", f"{self.rows_updated:,}"),
            ("duplicate", f"{self.rows_duplicate:,}"),
            ("quarantined", f"{self.rows_quarantined:,}"),
        ]
        if self.customers_created:
            rows.append(("customers created", f"{self.customers_created:,}"))
        if self.rows_combined:
            rows.append(("line-item rows combined", f"{self.rows_combined:,}"))
        if self.columns_mapped:
            rows.append(
                ("mapped", ", ".join(f"{s} -> {t}" for s, t in self.columns_mapped.items()))
            )
        rows.append(("kept in attributes", ", ".join(self.columns_kept) or "-"))
        rows.append(("ignored", ", ".join(self.columns_ignored) or "-"))
        if self.quarantine_path:
            rows.append(("quarantine file", self.quarantine_path))
        rows.extend(("note", n) for n in self.notes)
        rows.extend(("warning", w) for w in self.warnings)
        return rows

    def to_dict(self, *, max_problems: int | None = None) -> dict[str, Any]:
        """A JSON-serialisable dict; ``max_problems`` truncates the problem list."""
        d = {f.name: copy.copy(getattr(self, f.name)) for f in fields(self) if f.name != "problems"}
        problems = self.problems
        d["problem_count"] = len(problems)
        if max_problems is not None and len(problems) > max_problems:
            problems = problems[:max_problems]
            d["problems_truncated"] = True
        d["problems"] = [p._asdict() for p in problems]
        return d


class ImportRejected(ImportValidationError):
    """More rows were quarantined than ``max_quarantined`` allows; nothing was written.

    Attributes
    ----------
    report : ImportReport
        What the import found (``rejected`` is true); its quarantine file is written.
    """

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report
