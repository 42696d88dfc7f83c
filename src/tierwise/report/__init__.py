"""One self-contained HTML report of a snapshot: tiers, movements, quadrant map, CLV checks,
tag portraits, playbook plan and uplift, backtest, entrances and distributors, the path's
funnel, member levels, satisfaction and identity.

The page needs no network: the chart library (ECharts) is inlined, the figures are embedded
as JSON (``<script id="tierwise-report-data">``) and its content security policy allows no
request. Sections the project holds nothing for say so.

Examples
--------
>>> from tierwise.project import Project                              # doctest: +SKIP
>>> Project("shop").report("report.html", lang="en")                  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierwise.report._gather import SECTIONS, ReportData, gather_report
from tierwise.report._render import render_html

if TYPE_CHECKING:
    from tierwise.project import Project

__all__ = ["SECTIONS", "ReportData", "ReportFile", "gather_report", "render_html", "write_report"]


@dataclass(frozen=True)
class ReportFile:
    """A written report: where, how big, in which language, and its figures."""

    path: Path
    bytes: int
    lang: str
    data: ReportData

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly) without the figures."""
        return {
            "path": str(self.path), "bytes": self.bytes, "lang": self.lang,
            "as_of": self.data.as_of.isoformat(),
            "previous": self.data.previous.isoformat() if self.data.previous else None,
            "customers": self.data.customers,
            "sections": {s: self.data.sections.get(s) is not None for s in SECTIONS},
            "absent": self.data.absent,
        }  # fmt: skip


def write_report(
    project: Project,
    path: str | Path,
    *,
    as_of: dt.date | None = None,
    lang: str = "zh",
    backtest: bool = True,
    backtest_cut: dt.date | None = None,
    progress: Any = None,
) -> ReportFile:
    """Gather a snapshot's figures (`gather_report`) and write the HTML page to ``path``."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    data = gather_report(
        project, as_of, backtest=backtest, backtest_cut=backtest_cut, progress=progress
    )
    page = render_html(data, lang).encode("utf-8")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(page)
    return ReportFile(out, len(page), lang, data)
