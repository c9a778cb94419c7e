"""The raw pool of the embedded default market: 600+ identities from diverse screens.

The screener table is built straight from the synthetic provider (no lakehouse, no run folder)
with the production profile of ``configs/manifest.json`` and the project's scanners, exactly as
the Discovery and Aggregation steps compute it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from clusterfolio.data.sync import collapse_duplicates
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.discovery.columns import screener_table
from clusterfolio.discovery.evaluate import ScanStatus, required_columns, run_scanners
from clusterfolio.discovery.pool import RawPool, build_raw_pool
from clusterfolio.discovery.screens import load_screens
from clusterfolio.enums import Direction
from clusterfolio.manifest import Settings, load

AS_OF = date(2026, 11, 20)
#: The market and caps the production profile is meant to have (no-ops once they are the
#: manifest's defaults).
PRODUCTION_SIZES: tuple[str, ...] = (
    "data.synthetic.n_equities=600",
    "data.synthetic.n_etfs=100",
    "data.synthetic.n_crypto_coins=50",
    "data.synthetic.n_forex=28",
    'discovery.max_per_class={"equity": 520, "etf": 120, "bond": 60, "commodity": 40, "crypto": 120, "forex": 60}',
)
MIN_IDENTITIES = 600


@pytest.fixture(scope="module")
def settings(repo_root: Path) -> Settings:
    resolved = load(repo_root / "configs" / "manifest.json", "production", PRODUCTION_SIZES, {})
    return resolved.settings


@pytest.fixture(scope="module")
def default_pool(settings: Settings, scanners_root: Path) -> tuple[RawPool, list]:
    provider = SyntheticProvider(settings.data.synthetic, as_of=AS_OF)
    listings = {listing.symbol: listing for listing in provider.listings()}
    start = AS_OF - timedelta(days=settings.discovery.history_days)
    # as the sync stores them: duplicated sessions (an injected fault) collapsed
    candles = {s: collapse_duplicates(provider.candles(s, start, AS_OF))[0] for s in listings}
    screens = load_screens(scanners_root)
    table = screener_table(candles, listings, required_columns(screens), as_of=AS_OF, start=start)
    exports = run_scanners(screens, table, as_of=AS_OF, run_id="default")
    pool = build_raw_pool(
        exports,
        listings,
        max_per_class=settings.discovery.max_per_class,
        xs_momentum=settings.features.feat_xs_momentum,
        min_value_traded=settings.discovery.min_value_traded,
    )
    return pool, exports


def test_default_market_gives_600_identities(default_pool: tuple[RawPool, list]) -> None:
    pool, exports = default_pool
    assert len(pool) >= MIN_IDENTITIES
    assert not pool.frame.duplicated(["asset_class", "identity"]).any()
    assert not [e.scanner for e in exports if e.status is ScanStatus.FAILED]
    by_class = pool.frame.groupby("asset_class").size()
    assert set(by_class.index) == {"equity", "etf", "bond", "commodity", "crypto", "forex"}
    assert (by_class >= 10).all(), by_class.to_dict()
    assert by_class.max() / len(pool) < 0.8  # no class is the whole pool


def test_default_pool_is_diverse(default_pool: tuple[RawPool, list]) -> None:
    pool, exports = default_pool
    frame = pool.frame
    for klass in ("equity", "crypto", "forex"):
        directions = set(frame.loc[frame["asset_class"] == klass, "direction"])
        assert directions == {str(Direction.LONG), str(Direction.SHORT)}, klass
    # every major and cross of the forex universe, on its monthly side
    assert (frame["asset_class"] == "forex").sum() == 28
    # venues merged: crypto identities carry implementation alternatives
    crypto = frame.loc[frame["asset_class"] == "crypto"]
    assert (crypto["n_alternatives"] > 0).mean() > 0.5
    # every sector has leaders, and no screen family alone makes the pool
    leaders = [e for e in exports if e.scanner.startswith("equity_sector_leaders_")]
    assert len(leaders) == 11 and all(e.n_rows for e in leaders)
    scanners = frame["scanners"].str.split(",").explode()
    biggest = scanners.value_counts().iloc[0]
    assert biggest < 0.5 * len(frame)
    assert pd.Series([e.n_rows for e in exports]).gt(0).mean() > 0.85
