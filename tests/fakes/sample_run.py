"""A small, complete run folder for the report tests, made by the real steps.

:func:`make_sample_run` copies a run of the whole pipeline (all 13 steps, the ``development``
profile) on a tiny synthetic market (:data:`TINY`: 19 listings, 150 sessions of history, a
tournament of the custom engine and the market). The run is made once per test process and
copied for each caller, so every artifact has exactly the layout the steps write: there is no
second, hand-written copy of the formats to drift.

Groups of artifacts can be left out to exercise the "not available in this run" paths
(``tournament``, ``audit``, ``selection``, ``decay_audit``).
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from clusterfolio.io import atomic_write_json
from clusterfolio.report import artifacts as A
from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.config import ReportConfig

__all__ = [
    "SAMPLE_AS_OF",
    "TINY",
    "TINY_MARKET",
    "SampleRun",
    "make_sample_run",
    "sample_config",
    "tiny_run",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_AS_OF = "2026-11-20"

#: Settings of the tiny market, without feature flags (the byte-identity guard runs it).
TINY_MARKET: dict[str, object] = {
    "data.synthetic.n_equities": 11,
    "data.synthetic.n_etfs": 4,
    "data.synthetic.n_crypto_coins": 2,
    "data.synthetic.n_forex": 2,
    "data.lookback_days": 80,
    "data.light_lookback_days": 30,
    "backtest.train": 40,
    "backtest.realized_target": 20,
    "backtest.history_days": 150,
    "backtest.test": 10,
    "backtest.step": 10,
    "risk.regime.window": 20,
    "risk.regime.short_window": 10,
    "risk.regime.baseline": 40,
    "tournament.engines": ["custom", "market"],
}

#: Settings of the sample run: the tiny market with the decay audit on (the crash-safety suite
#: runs the same one).
TINY: dict[str, object] = {**TINY_MARKET, "features.feat_decay_audit": True}

TOURNAMENT = (
    A.TOURNAMENT_RESULTS,
    A.TOURNAMENT_SUMMARY,
    A.TOURNAMENT_RETURNS,
    "tournament_weights.parquet",
    A.SLIPPAGE_DECAY,
)
AUDIT = (A.AUDIT_JSON, A.AUDIT_MD, A.DRIFT_JSON, A.DRIFT_MD, A.ORDERS_CSV)
SELECTION = (A.WINNERS, A.SELECTION_AUDIT, "selection.parquet", "selected.json")


@dataclass(frozen=True)
class SampleRun:
    """Where the sample run lives and what it holds."""

    run_dir: Path
    run_id: str
    as_of: str
    symbols: tuple[str, ...]
    tournament: bool
    audit: bool
    selection: bool


@functools.cache
def tiny_run() -> Path:
    """The folder of the tiny run, made once per process by the real pipeline (removed at exit).

    Read only: :func:`make_sample_run` copies it; the crash-safety suite compares its artifacts
    (``<root>/data/runs/<run_id>``, candles under ``<root>/data/lakehouse``) with a killed and
    resumed run of the same settings.
    """
    from clusterfolio.api import run_pipeline

    root = Path(tempfile.mkdtemp(prefix="clusterfolio-sample-"))
    atexit.register(shutil.rmtree, root, True)
    run = run_pipeline(
        profile="development",
        as_of=SAMPLE_AS_OF,
        overrides=TINY,
        root=root,
        manifest=REPO_ROOT / "configs" / "manifest.json",  # scanner paths as the CLI records them
    )
    return run.path


def make_sample_run(
    run_dir: Path,
    *,
    tournament: bool = True,
    audit: bool = True,
    selection: bool = True,
    decay_audit: bool = True,
) -> SampleRun:
    """Copy the tiny real run into ``run_dir`` (see the module docstring).

    Parameters
    ----------
    run_dir : Path
        Destination (must not exist yet).
    tournament, audit, selection : bool
        Keep the tournament, the audit and drift, and the natural-selection artifacts.
    decay_audit : bool
        ``features.feat_decay_audit`` in the run's ledger (and ``slippage_decay.json``).

    Returns
    -------
    SampleRun
    """
    run_dir = Path(run_dir)
    shutil.copytree(tiny_run(), run_dir)
    dropped = [
        *(() if tournament else TOURNAMENT),
        *(() if audit else AUDIT),
        *(() if selection else SELECTION),
        *(() if decay_audit else (A.SLIPPAGE_DECAY,)),
    ]
    for name in dropped:
        (run_dir / name).unlink(missing_ok=True)
    ledger = json.loads((run_dir / A.LEDGER).read_text(encoding="utf-8"))
    if not decay_audit:
        ledger["settings"]["features"]["feat_decay_audit"] = False
        atomic_write_json(run_dir / A.LEDGER, ledger)
    returns = RunArtifacts(run_dir).parquet(A.RETURNS)
    symbols = tuple(str(c) for c in returns.columns) if returns is not None else ()
    return SampleRun(
        run_dir=run_dir,
        run_id=str(ledger["run_id"]),
        as_of=str(ledger["as_of"]),
        symbols=symbols,
        tournament=tournament,
        audit=audit,
        selection=selection,
    )


def sample_config(run_dir: Path, *, use_quantstats: bool | None = False) -> ReportConfig:
    """The :class:`~clusterfolio.report.config.ReportConfig` of a run, from its ledger."""
    ledger = RunArtifacts(run_dir).ledger()
    if ledger is None:
        return ReportConfig(use_quantstats=use_quantstats)
    return ReportConfig.from_ledger(ledger, use_quantstats=use_quantstats)
