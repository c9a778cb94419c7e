"""Fault: sources mixed in one cache. Each source reads and writes only its own namespace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from faultkit import (
    AS_OF,
    SYMBOLS,
    fingerprint,
    provider_for,
    source_of,
    store_for,
    tiny_data,
)

from clusterfolio.artifacts.state import SYNC_STATE_FILE
from clusterfolio.data import lakehouse as lakehouse_module
from clusterfolio.data.lakehouse import SourceMismatchError
from clusterfolio.data.sync import SyncState, sync_listing, sync_listings


def _sync(lake_root: Path, data, n: int = 40) -> list:  # type: ignore[no-untyped-def]
    source = source_of(data, lake_root)
    lake = store_for(lake_root, source)
    provider = provider_for(data)
    listings = [provider.metadata(s) for s in SYMBOLS]
    return sync_listings(
        lake, provider, listings, as_of=AS_OF, n_sessions=n, state_dir=lake_root / source.namespace
    )


def test_a_development_market_never_touches_the_production_series(lake_root: Path) -> None:
    production, development = tiny_data(n_equities=11), tiny_data(n_equities=12)
    a, b = source_of(production, lake_root), source_of(development, lake_root)
    assert a.namespace != b.namespace and a.namespace.startswith("synthetic-")
    assert source_of(tiny_data(seed=8), lake_root).namespace != a.namespace
    _sync(lake_root, production)
    before = fingerprint(lake_root / a.namespace)
    assert len([k for k in before if k.endswith("_1d.parquet")]) == len(SYMBOLS)
    outcomes = _sync(lake_root, development)
    assert all(o.action == "fetched" for o in outcomes)  # its own namespace, fetched afresh
    assert fingerprint(lake_root / a.namespace) == before


def test_a_file_of_another_source_is_refused_quarantined_and_fetched_again(
    lake_root: Path,
) -> None:
    production, development = tiny_data(n_equities=11), tiny_data(n_equities=12)
    _sync(lake_root, production)
    _sync(lake_root, development)
    a, b = source_of(production, lake_root), source_of(development, lake_root)
    name = Path(store_for(lake_root, a).path("AMEX:SPY")).name
    own = (lake_root / a.namespace / name).read_bytes()
    foreign = (lake_root / b.namespace / name).read_bytes()
    (lake_root / a.namespace / name).write_bytes(foreign)  # a clumsy copy between caches
    with pytest.raises(SourceMismatchError, match=f"not by '{a.key}'"):
        store_for(lake_root, a).read("AMEX:SPY")
    outcomes = _sync(lake_root, production)
    spy = next(o for o in outcomes if o.symbol == "AMEX:SPY")
    assert any("quarantined" in r and "one folder, one source" in r for r in spy.repairs)
    assert (lake_root / a.namespace / name).read_bytes() == own  # repaired as reported
    moved = [p for p in (lake_root / "quarantine" / a.namespace).iterdir()]
    assert any(p.read_bytes() == foreign for p in moved)
    assert any(p.name.endswith(".reason.txt") for p in moved)


def test_a_merge_that_changes_a_stored_bar_is_a_recorded_conflict(lake_root: Path) -> None:
    data = tiny_data()
    _sync(lake_root, data)
    source = source_of(data, lake_root)
    lake = store_for(lake_root, source)
    before = fingerprint(lake_root / source.namespace)
    stored = lake.read("NYSE:CORI")
    other = stored.tail(3).copy()
    other[["open", "high", "low", "close"]] *= 0.982  # another source's prices (-1.8%)
    report = lake.merge("NYSE:CORI", other)
    # the last bar was written long after its session closed: final, never replaced
    assert report.replaced_partial is None and len(report.conflicts) == 3
    assert fingerprint(lake_root / source.namespace) == before


def test_only_a_bar_written_during_its_session_is_replaced(
    lake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tiny_data()
    source = source_of(data, lake_root)
    lake = store_for(lake_root, source)
    provider = provider_for(data)
    bars = provider.candles("NYSE:CORI", date(2026, 10, 1), AS_OF)
    monkeypatch.setattr(lakehouse_module, "_today", lambda: AS_OF)  # written on the day
    partial = bars.copy()
    partial.loc[partial.index[-1], "volume"] *= 0.5  # the session was still trading
    lake.merge("NYSE:CORI", partial)
    assert lake.partial_session("NYSE:CORI") == AS_OF
    monkeypatch.setattr(lakehouse_module, "_today", lambda: date(2026, 11, 23))
    state = SyncState(lake_root / source.namespace / SYNC_STATE_FILE)
    outcome = sync_listing(
        lake,
        _Final(bars),
        provider.metadata("NYSE:CORI"),
        as_of=date(2026, 11, 23),
        n_sessions=20,
        state=state,
    )
    assert outcome.replaced_partial == AS_OF.isoformat() and not outcome.conflicts
    assert lake.read("NYSE:CORI")["volume"].iloc[-1] == bars["volume"].iloc[-1]
    assert lake.partial_session("NYSE:CORI") is None


class _Final:
    """A provider serving the final bars (the as-of bar closed since)."""

    def __init__(self, bars) -> None:  # type: ignore[no-untyped-def]
        self.bars = bars

    def candles(self, symbol: str, start: date, end: date):  # type: ignore[no-untyped-def]
        sessions = self.bars["session"].dt.date
        return self.bars[(sessions >= start) & (sessions <= end)].reset_index(drop=True)
