"""The Discovery step's local screener table (``pipeline/steps/discovery.py``) on a tiny market.

The stored candles are read in one batch and only listings whose stored history does not span
the window are synced: a second run on the same as-of date asks the provider nothing and
computes the same table, equal to the one computed straight from the provider.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.sync import collapse_duplicates
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.discovery.columns import screener_table
from clusterfolio.discovery.evaluate import required_columns
from clusterfolio.manifest import load
from clusterfolio.pipeline.context import RunContext, StepRecorder, default_provider
from clusterfolio.pipeline.steps import discovery as step

AS_OF = date(2026, 11, 20)
TINY = (
    "data.synthetic.n_equities=11",
    "data.synthetic.n_etfs=5",
    "data.synthetic.n_crypto_coins=2",
    "data.synthetic.n_forex=3",
)


def _context(root: Path, repo_root: Path, as_of: date = AS_OF) -> RunContext:
    manifest = load(repo_root / "configs" / "manifest.json", "production", TINY, {})
    run_dir = root / "data" / "runs" / f"run-{as_of}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(
        manifest=manifest,
        run_id=run_dir.name,
        run_dir=run_dir,
        project_root=root,
        as_of=as_of,
        logger=logging.getLogger("test"),
        provider_factory=default_provider,
        recorder=StepRecorder("discovery"),
        config_root=repo_root,
    )


def test_fresh_cache_asks_nothing_and_matches_the_provider(tmp_path: Path, repo_root: Path) -> None:
    first = _context(tmp_path, repo_root)
    screens = step._screens(first)
    cold = step._local_table(first, screens)
    assert first.provider.stats.candle_calls == len(cold)

    again = _context(tmp_path, repo_root)
    warm = step._local_table(again, screens)
    assert again.provider.stats.candle_calls == 0
    pd.testing.assert_frame_equal(warm, cold)

    settings = first.settings
    provider = SyntheticProvider(settings.data.synthetic, as_of=AS_OF)
    listings = {lst.symbol: lst for lst in provider.listings()}
    start = AS_OF - timedelta(days=settings.discovery.history_days)
    # served as the sync stores them: duplicated sessions (an injected fault) collapsed
    candles = {s: collapse_duplicates(provider.candles(s, start, AS_OF))[0] for s in listings}
    direct = screener_table(candles, listings, required_columns(screens), as_of=AS_OF)
    numeric = [c for c in direct.columns if direct[c].dtype.kind == "f"]
    pd.testing.assert_frame_equal(warm[numeric], direct[numeric], rtol=1e-12)


def test_next_day_syncs_and_a_corrupt_file_is_quarantined_and_fetched_again(
    tmp_path: Path, repo_root: Path
) -> None:
    ctx = _context(tmp_path, repo_root)
    screens = step._screens(ctx)
    step._local_table(ctx, screens)
    lake = Lakehouse(ctx.candle_root)
    broken = "AMEX:SPY"
    Path(lake.path(broken)).write_bytes(b"not parquet")

    later = _context(tmp_path, repo_root, AS_OF + timedelta(days=3))  # the next Monday
    table = step._local_table(later, screens)
    assert broken in table.index  # fetched again from the provider
    assert any(broken in w and "quarantined" in w for w in later.recorder.warnings)
    (moved,) = [p for p in later.quarantine_root.iterdir() if not p.name.endswith(".txt")]
    assert moved.read_bytes() == b"not parquet"
    assert later.provider.stats.candle_calls == len(table)  # one call for every listing
    faulty = {s for symbols in later.provider.faults().values() for s in symbols}  # type: ignore[attr-defined]
    clean = [s for s in table.index if s.startswith(("NYSE:", "NASDAQ:")) and s not in faulty]
    assert clean
    for symbol in clean:
        assert lake.read(symbol)["session"].iloc[-1] == pd.Timestamp(later.as_of)


@pytest.mark.parametrize("history_days", [60, 400])
def test_history_window_starts_at_history_days(
    tmp_path: Path, repo_root: Path, history_days: int
) -> None:
    ctx = _context(tmp_path, repo_root)
    ctx.settings.discovery.history_days = history_days
    table = step._local_table(ctx, step._screens(ctx))
    sma200 = table.loc[table["asset_class"] == "crypto", "SMA200"]
    # 60 calendar days cannot hold 200 bars; 400 days of a 24/7 market can
    assert sma200.isna().all() if history_days == 60 else sma200.notna().all()
