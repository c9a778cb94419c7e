"""Fault: the sync state outlives its files. It is checked against the disk on every pass."""

from __future__ import annotations

from pathlib import Path

from faultkit import AS_OF, SYMBOLS, fingerprint, provider_for, source_of, store_for, tiny_data

from clusterfolio.artifacts.state import SYNC_STATE_FILE
from clusterfolio.data.sync import SyncState, sync_listings


def _pass(lake_root: Path) -> tuple[list, Path]:  # type: ignore[type-arg]
    data = tiny_data()
    source = source_of(data, lake_root)
    provider = provider_for(data)
    outcomes = sync_listings(
        store_for(lake_root, source),
        provider,
        [provider.metadata(s) for s in SYMBOLS],
        as_of=AS_OF,
        n_sessions=40,
        state_dir=lake_root / source.namespace,
    )
    return outcomes, lake_root / source.namespace


def test_a_deleted_file_is_fetched_again_and_reported(lake_root: Path) -> None:
    _, folder = _pass(lake_root)
    before = fingerprint(folder)
    victim = folder / "AMEX_SPY_1d.parquet"
    victim.unlink()
    assert SyncState(folder / SYNC_STATE_FILE).stored_last("AMEX:SPY") == AS_OF.isoformat()
    outcomes, _ = _pass(lake_root)
    spy = next(o for o in outcomes if o.symbol == "AMEX:SPY")
    assert spy.action == "fetched"
    assert spy.repairs == [
        f"AMEX:SPY: sync state says bars through {AS_OF} are stored but the file is missing "
        f"({victim}); fetched again"
    ]
    assert fingerprint(folder) == before  # repaired: the same bytes as before
    assert all(not o.repairs for o in outcomes if o.symbol != "AMEX:SPY")


def test_a_truncated_file_is_quarantined_with_its_reason_and_fetched_again(
    lake_root: Path,
) -> None:
    _, folder = _pass(lake_root)
    before = fingerprint(folder)
    victim = folder / "NYSE_CORI_1d.parquet"
    broken = victim.read_bytes()[:100]
    victim.write_bytes(broken)
    outcomes, _ = _pass(lake_root)
    cori = next(o for o in outcomes if o.symbol == "NYSE:CORI")
    (message,) = cori.repairs
    assert message.startswith("NYSE:CORI: unreadable candle file quarantined to ")
    assert "corrupt or truncated Parquet" in message and message.endswith("fetched again")
    assert fingerprint(folder) == before
    quarantine = lake_root / "quarantine" / folder.name
    (moved,) = [p for p in quarantine.iterdir() if not p.name.endswith(".reason.txt")]
    assert moved.read_bytes() == broken
    reason = Path(f"{moved}.reason.txt").read_text()
    assert "corrupt or truncated Parquet" in reason


def test_a_file_older_than_the_state_says_is_fetched_again(lake_root: Path) -> None:
    _, folder = _pass(lake_root)
    lake = store_for(lake_root, source_of(tiny_data(), lake_root))
    before = fingerprint(folder)
    frame = lake.read("BINANCE:BTCUSDT")
    lake.delete("BINANCE:BTCUSDT")
    lake.merge("BINANCE:BTCUSDT", frame.iloc[:-5])  # an old copy restored by hand
    outcomes, _ = _pass(lake_root)
    btc = next(o for o in outcomes if o.symbol == "BINANCE:BTCUSDT")
    assert btc.repairs and "but the file ends on" in btc.repairs[0]
    candles = {k: v for k, v in before.items() if k.endswith("_1d.parquet")}
    assert {k: v for k, v in fingerprint(folder).items() if k in candles} == candles
    # the state now remembers the range asked for again (narrower than the first pass)
    assert SyncState(folder / SYNC_STATE_FILE).stored_last("BINANCE:BTCUSDT") == AS_OF.isoformat()
