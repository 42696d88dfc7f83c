"""The import layer: read merchants' files, validate every value, quarantine bad rows,
write the rest atomically.

Usage::

    from tierwise.io import import_file

    report = import_file(store, "orders", "taobao.csv", mapping="taobao_orders")
    print(report.summary())

See ``docs/import.md`` for formats, mappings, rules and row numbering.
"""

from __future__ import annotations

from tierwise.io.importer import import_file, import_frame
from tierwise.io.mapping import (
    BooleanVocabulary,
    ColumnMapping,
    LineItems,
    MappingError,
    NumberFormat,
    Returns,
    load_mapping,
    shipped_mappings,
)
from tierwise.io.options import ImportOptions
from tierwise.io.readers import FORMATS
from tierwise.io.report import ImportRejected, ImportReport, Problem

__all__ = [
    "FORMATS",
    "BooleanVocabulary",
    "ColumnMapping",
    "ImportOptions",
    "ImportRejected",
    "ImportReport",
    "LineItems",
    "MappingError",
    "NumberFormat",
    "Problem",
    "Returns",
    "import_file",
    "import_frame",
    "load_mapping",
    "shipped_mappings",
]
