"""QuantStats HTML tear sheets per profile, offline (``clusterfolio report --quantstats-html``).

For every profile of the tournament, the realized returns of the custom engine (the idealized
ones when the realized simulator did not run) go through ``quantstats.reports.html`` with the
baseline's returns passed *as a Series* (a ticker would make QuantStats download it). The
page's links to the outside (favicon, the QuantStats site) are removed, so opening it fetches
nothing. Written to ``tearsheets/<profile>.html``. About 20 s per profile: on demand only, never
in the daily run.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR
from clusterfolio.io import atomic_write_text
from clusterfolio.report.artifacts import TOURNAMENT_RETURNS, RunArtifacts

ENGINE = "custom"
SIMULATORS = ("realized", "idealized")
_EXTERNAL = re.compile(
    r"""<link[^>]+href="https?://[^"]*"[^>]*>|<a [^>]*href="https?://[^"]*"[^>]*>(.*?)</a>""", re.S
)


def strip_external(html: str) -> str:
    """Remove ``<link>`` tags to other sites and unlink anchors (their text stays)."""
    return _EXTERNAL.sub(lambda m: m.group(1) or "", html)


def _column(frame: pd.DataFrame, engine: str, profile: str) -> pd.Series | None:
    for simulator in SIMULATORS:
        name = f"{engine}|{profile}|{simulator}"
        if name in frame.columns and frame[name].notna().any():
            return frame[name].dropna()
    return None


def write_quantstats_html(
    run_dir: Path,
    *,
    periods_per_year: int = EXCHANGE_PERIODS_PER_YEAR,
    only: Collection[str] | None = None,
) -> list[Path]:
    """Write one offline QuantStats tear sheet per profile (or per profile of ``only``).

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import quantstats as qs

    returns = RunArtifacts(run_dir).parquet(TOURNAMENT_RETURNS)
    if returns is None:
        return []
    profiles = sorted({c.split("|")[1] for c in returns.columns if c.startswith(f"{ENGINE}|")})
    profiles = [p for p in profiles if only is None or p in only]
    baseline = _column(returns, "market", "market")
    written = []
    for profile in profiles:
        series = _column(returns, ENGINE, profile)
        if series is None or len(series) < 2:
            continue
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = Path(tmp) / "sheet.html"
            qs.reports.html(
                series,
                benchmark=baseline,
                output=str(out),
                title=f"{profile} ({ENGINE})",
                periods_per_year=periods_per_year,
            )
            text = strip_external(out.read_text(encoding="utf-8"))
        path = run_dir / "tearsheets" / f"{profile}.html"
        atomic_write_text(path, text)
        written.append(path)
    return written
