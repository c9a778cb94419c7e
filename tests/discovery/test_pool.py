"""The raw pool: identity merging on real multi-venue crypto data, and every documented rule."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from clusterfolio.data.schema import Listing
from clusterfolio.discovery.columns import screener_table
from clusterfolio.discovery.evaluate import (
    SCORE_COLUMNS,
    ScanExport,
    ScanStatus,
    required_columns,
    run_scanners,
)
from clusterfolio.discovery.pool import PoolAction, RawPool, build_raw_pool
from clusterfolio.discovery.scoring import ScoreWeights
from clusterfolio.discovery.screens import Screen, load_screens
from clusterfolio.enums import AssetClass, CalendarKind, Direction

CRYPTO = AssetClass.CRYPTO


def _all_crypto(direction: Direction = Direction.LONG, name: str = "all_crypto") -> Screen:
    """A permissive screen: every crypto listing, the score columns."""
    return Screen.from_request(
        {"markets": ["crypto"], "columns": list(SCORE_COLUMNS)},
        name=name,
        asset_class=CRYPTO,
        direction=direction,
    )


@pytest.fixture(scope="module")
def crypto_pool(crypto_universe: tuple[dict, dict]) -> tuple[RawPool, pd.DataFrame]:
    candles, listings = crypto_universe
    table = screener_table(candles, listings, SCORE_COLUMNS)
    exports = run_scanners([_all_crypto()], table, as_of=date(2021, 10, 17), run_id="t")
    return build_raw_pool(exports, listings, max_per_class=None, xs_momentum=False), table


def _listings_of(pool: RawPool, identity: str) -> set[str]:
    alt = pool.alternatives
    return set(alt.loc[alt["identity"] == identity, "symbol"])


def test_venues_merge_into_economic_identities(crypto_pool: tuple[RawPool, pd.DataFrame]) -> None:
    pool, _ = crypto_pool
    assert _listings_of(pool, "BTC") == {
        "BINANCE:BTCUSDT",
        "BINANCE:BTCUSDT.P",
        "BITFINEX:BTCUSD",
        "BITSTAMP:BTCUSD",
        "COINBASE:BTCUSD",
        "KRAKEN:BTCUSD",
    }
    assert _listings_of(pool, "ETH") == {
        "BINANCE:ETHUSDT",
        "BINANCE:ETHUSDT.P",
        "BITFINEX:ETHUSD",
        "BITSTAMP:ETHUSD",
        "COINBASE:ETHUSD",
        "KRAKEN:ETHUSD",
    }
    assert _listings_of(pool, "LTC") == {
        "BITFINEX:LTCUSD",
        "BITSTAMP:LTCUSD",
        "COINBASE:LTCUSD",
        "KRAKEN:LTCUSD",
    }
    assert _listings_of(pool, "XRP") == {"BITSTAMP:XRPUSD", "KRAKEN:XRPUSD"}
    # BTC-quoted pairs are crosses, never the coin
    assert _listings_of(pool, "ETH/BTC") == {"BITFINEX:ETHBTC", "BITSTAMP:ETHBTC"}
    assert _listings_of(pool, "XRP/BTC") == {"BITFINEX:XRPBTC"}
    assert not any(s.endswith("BTC") for s in _listings_of(pool, "ETH"))
    frame = pool.to_frame()
    assert frame["identity"].is_unique
    row = frame.set_index("identity").loc["BTC"]
    assert row["n_alternatives"] == 5 and row["asset_class"] == "crypto"
    assert row["lead_symbol"] in _listings_of(pool, "BTC")
    assert len(pool.alternatives_of("BTC")) == 5
    assert len(frame) == len(set(pool.alternatives["identity"]))


def test_lead_is_the_best_listing(crypto_pool: tuple[RawPool, pd.DataFrame]) -> None:
    pool, _ = crypto_pool
    alt = pool.alternatives
    for identity, group in alt.groupby("identity"):
        lead = group.loc[group["is_lead"]]
        assert len(lead) == 1, identity
        assert lead["score"].iloc[0] == group["score"].max()
        leads = pool.frame.set_index("identity")["lead_symbol"]
        assert leads[str(identity)] == lead["symbol"].iloc[0]


def test_merge_decisions(crypto_pool: tuple[RawPool, pd.DataFrame]) -> None:
    pool, _ = crypto_pool
    lead = pool.frame.set_index("identity").loc["BTC", "lead_symbol"]
    for symbol in _listings_of(pool, "BTC") - {lead}:
        (decision,) = pool.decisions_for(symbol)
        assert decision["action"] == PoolAction.MERGED
        assert decision["reason"].startswith("merged into BTC")
        assert decision["details"]["lead"] == lead
    leads = [d for d in pool.decisions if d["action"] == PoolAction.LEAD]
    assert len(leads) == len(pool.frame)
    doc = pool.to_json_dict()
    text = json.dumps(doc)
    assert "NaN" not in text
    btc = next(i for i in doc["identities"] if i["identity"] == "BTC")
    assert len(btc["alternatives"]) == 5
    assert doc["summary"]["identities"] == len(pool.frame)
    assert doc["summary"]["listings"] == len(pool.alternatives)


def test_project_scanners_on_real_crypto(
    crypto_universe: tuple[dict, dict], scanners_root: Path
) -> None:
    candles, listings = crypto_universe
    screens = [s for s in load_screens(scanners_root) if s.asset_class is CRYPTO]
    table = screener_table(candles, listings, required_columns(screens), as_of="2019-09-13")
    exports = run_scanners(screens, table, as_of=date(2019, 9, 13), run_id="real")
    pool = build_raw_pool(exports, listings, max_per_class={"crypto": 120}, xs_momentum=True)
    assert pool.xs_momentum
    found = {s for e in exports for s in e.rows.index}
    assert set(pool.alternatives["symbol"]) == found
    assert set(pool.frame["lead_symbol"]) <= found
    # the liquidity floor keeps BTC-quoted crosses out, so every identity is a coin
    assert not any("/" in i for i in pool.identities)
    for identity in pool.identities:
        symbols = _listings_of(pool, identity)
        assert all(s.split(":")[1].startswith(identity) for s in symbols), identity


def test_market_caps_listings_group_by_base(shared_data: Path) -> None:
    rows = json.loads(
        (shared_data / "tradingview" / "tommy-ca" / "market_caps_crypto.json").read_text()
    )
    listings = {
        r["symbol"]: Listing(
            symbol=r["symbol"],
            asset_class=CRYPTO,
            calendar=CalendarKind.CRYPTO_24_7,
            market_cap=float(r["market_cap"]),
        )
        for r in rows
    }
    hits = pd.DataFrame(
        {
            "close": 1.0,
            "volume": 1.0,
            "Value.Traded": [r["market_cap"] / 1e3 for r in rows],
        },
        index=pd.Index([r["symbol"] for r in rows], name="symbol"),
    )
    export = ScanExport(
        scanner="caps",
        asset_class=CRYPTO,
        direction=Direction.LONG,
        as_of=date(2025, 12, 20),
        run_id="caps",
        status=ScanStatus.OK,
        rows=hits.loc[~hits.index.duplicated()],
    )
    pool = build_raw_pool([export], listings)
    assert _listings_of(pool, "BTC") == {
        s for s in listings if s.split(":")[1] in ("BTCUSD", "BTCRLUSD")
    }
    assert len(pool.alternatives_of("BTC")) == 11
    for identity, tickers in {
        "ETH": {"ETHUSD", "ETHRLUSD"},
        "DOT": {"DOTUSD", "DOTRLUSD"},
        "USDT": {"USDTUSD", "USTUSD", "USDTRLUSD"},
        "PAXG": {"PAXGUSD", "PAXGRLUSD"},
    }.items():
        assert {s.split(":")[1] for s in _listings_of(pool, identity)} == tickers, identity
    assert len(pool.frame) < len(listings) / 3


# ------------------------------------------------------------------------- rules on small exports


def _listing(symbol: str, klass: AssetClass = CRYPTO) -> Listing:
    return Listing(symbol=symbol, asset_class=klass, calendar=CalendarKind.CRYPTO_24_7)


def _export(
    name: str,
    rows: dict[str, dict[str, float]],
    direction: Direction = Direction.LONG,
    klass: AssetClass = CRYPTO,
    status: ScanStatus = ScanStatus.OK,
) -> ScanExport:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "symbol"
    return ScanExport(
        scanner=name,
        asset_class=klass,
        direction=direction,
        as_of=date(2024, 1, 2),
        run_id="r",
        status=status,
        rows=frame,
        error="boom" if status is ScanStatus.FAILED else "",
    )


def _row(vt: float = 1e6, perf: float = 5.0, rating: float = 0.2, **kw: float) -> dict[str, float]:
    base = {
        "close": 10.0,
        "volume": vt / 10.0,
        "Value.Traded": vt,
        "Recommend.All": rating,
        "SMA50": 9.0,
        "SMA200": 8.0,
        "ATR": 0.5,
        "Perf.1M": perf,
        "Perf.3M": perf * 2,
    }
    base.update(kw)
    return base


def test_lead_tie_rules() -> None:
    same = _row()
    rows = {"BINANCE:BTCUSDT.P": same, "OKX:BTCUSDT": same, "BYBIT:BTCUSDT": same}
    listings = {s: _listing(s) for s in rows}
    pool = build_raw_pool([_export("a", rows)], listings)
    # equal scores and value traded: spot before perpetual, then the exchange name
    order = list(pool.alternatives["symbol"])
    assert order == ["BYBIT:BTCUSDT", "OKX:BTCUSDT", "BINANCE:BTCUSDT.P"]
    assert pool.lead_symbols == ["BYBIT:BTCUSDT"]
    # equal scores (liquidity weighted 0): the higher value traded leads
    rows = {"BYBIT:ETHUSDT": _row(vt=1e6), "OKX:ETHUSDT": _row(vt=5e6)}
    pool = build_raw_pool(
        [_export("a", rows)],
        {s: _listing(s) for s in rows},
        weights=ScoreWeights(liquidity=0.0, trend=0.25, volatility=0.25, performance=0.25),
    )
    assert pool.lead_symbols == ["OKX:ETHUSDT"]


def test_direction_conflict_keeps_the_higher_score() -> None:
    longs = {"BINANCE:SOLUSDT": _row(perf=30.0, rating=0.8), "BINANCE:ADAUSDT": _row()}
    shorts = {"COINBASE:SOLUSD": _row(perf=2.0, rating=0.1), "BINANCE:DOGEUSDT": _row(perf=-9)}
    listings = {s: _listing(s) for s in (*longs, *shorts)}
    pool = build_raw_pool(
        [_export("up", longs), _export("down", shorts, Direction.SHORT)], listings
    )
    frame = pool.frame.set_index("identity")
    assert frame.loc["SOL", "direction"] == "LONG"
    assert "COINBASE:SOLUSD" not in set(pool.alternatives["symbol"])
    (conflict,) = [d for d in pool.decisions if d["action"] == PoolAction.DIRECTION_CONFLICT]
    assert conflict["subject"] == "SOL" and conflict["details"]["kept"] == "LONG"
    assert conflict["details"]["long_score"] > conflict["details"]["short_score"]


def test_direction_conflict_exact_tie_drops_the_identity() -> None:
    neutral = {"close": 10.0, "volume": 1e5, "Value.Traded": 1e6, "ATR": 0.5}
    longs = {"BINANCE:SOLUSDT": neutral, "BINANCE:ADAUSDT": dict(neutral, ATR=0.7)}
    shorts = {"BYBIT:SOLUSDT": neutral}
    listings = {s: _listing(s) for s in (*longs, *shorts)}
    pool = build_raw_pool(
        [_export("up", longs), _export("down", shorts, Direction.SHORT)], listings
    )
    assert "SOL" not in pool.identities and "ADA" in pool.identities
    (conflict,) = pool.decisions_for("SOL")
    assert conflict["action"] == PoolAction.DIRECTION_CONFLICT
    assert conflict["details"]["kept"] is None


def test_class_caps_by_score() -> None:
    rows = {f"BINANCE:C{i}USDT": _row(vt=10 ** (5 + i), perf=float(i)) for i in range(5)}
    eq = {"NASDAQ:AAPL": _row(), "NASDAQ:MSFT": _row(vt=5e6)}
    listings = {s: _listing(s) for s in rows} | {s: _listing(s, AssetClass.EQUITY) for s in eq}
    exports = [_export("c", rows), _export("e", eq, klass=AssetClass.EQUITY)]
    pool = build_raw_pool(exports, listings, max_per_class={"crypto": 2})
    crypto = pool.frame.loc[pool.frame["asset_class"] == "crypto"]
    assert list(crypto["identity"]) == ["C4", "C3"]
    assert (pool.frame["asset_class"] == "equity").sum() == 2  # uncapped class
    dropped = [d for d in pool.decisions if d["action"] == PoolAction.DROPPED_CLASS_CAP]
    assert sorted(d["subject"] for d in dropped) == ["C0", "C1", "C2"]
    assert all(d["details"]["cap"] == 2 and d["details"]["rank"] > 2 for d in dropped)
    assert set(pool.alternatives["identity"]) == {"C4", "C3", "AAPL", "MSFT"}
    enum_keys = build_raw_pool(exports, listings, max_per_class={AssetClass.CRYPTO: 1})
    assert (enum_keys.frame["asset_class"] == "crypto").sum() == 1


def test_bookkeeping_decisions() -> None:
    a = {"BINANCE:BTCUSDT": _row(), "KRAKEN:XBTUSD": _row(vt=2e5)}
    b = {"BINANCE:BTCUSDT": _row(), "MYDEX:FOOUSD": _row(vt=10.0)}
    listings = {s: _listing(s) for s in ("BINANCE:BTCUSDT", "KRAKEN:XBTUSD")}
    exports = [
        _export("a", a),
        _export("b", b),
        _export("dead", {}, status=ScanStatus.FAILED),
    ]
    pool = build_raw_pool(exports, listings, min_value_traded=1e3)
    actions: dict[str, list[Any]] = {}
    for d in pool.decisions:
        actions.setdefault(d["action"], []).append(d["subject"])
    assert actions[PoolAction.SKIPPED_SCANNER] == ["dead"]
    assert actions[PoolAction.DUPLICATE_HIT] == ["BINANCE:BTCUSDT"]
    assert actions[PoolAction.NO_LISTING] == ["MYDEX:FOOUSD"]
    assert actions[PoolAction.DROPPED_LIQUIDITY] == ["MYDEX:FOOUSD"]
    assert pool.identities == ["BTC"]
    assert pool.alternatives.set_index("symbol").loc["BINANCE:BTCUSDT", "scanners"] == "a,b"
    assert pool.frame.loc[0, "scanners"] == "a,b"
    assert _listings_of(pool, "BTC") == {"BINANCE:BTCUSDT", "KRAKEN:XBTUSD"}


def test_empty_inputs() -> None:
    pool = build_raw_pool([], {})
    assert len(pool) == 0 and list(pool.frame.columns)[:2] == ["identity", "lead_symbol"]
    json.dumps(pool.to_json_dict())
    failed = build_raw_pool([_export("x", {}, status=ScanStatus.FAILED)], {})
    assert failed.decisions[0]["action"] == PoolAction.SKIPPED_SCANNER
    assert len(failed) == 0
