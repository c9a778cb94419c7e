"""The embedded deterministic market: catalogue, determinism, calendars, factor model, faults."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from clusterfolio.data.calendars import sessions
from clusterfolio.data.provider import Provider
from clusterfolio.data.schema import CANDLE_COLUMNS, validate_candles
from clusterfolio.data.synthetic import (
    MARKET_SYMBOL,
    SPIKE_FACTOR,
    FaultKind,
    SyntheticProvider,
)
from clusterfolio.enums import AssetClass, CalendarKind, Regime
from clusterfolio.errors import ConfigError, DataError, SchemaError, UnknownSymbolError
from clusterfolio.manifest import FaultSettings, SyntheticSettings

AS_OF = date(2025, 12, 31)
EPOCH = date(2019, 1, 2)
GICS_SECTORS = {
    "Information Technology",
    "Health Care",
    "Financials",
    "Consumer Discretionary",
    "Industrials",
    "Communication Services",
    "Consumer Staples",
    "Energy",
    "Utilities",
    "Real Estate",
    "Materials",
}
CATALOGUE = SyntheticSettings(n_equities=330, n_etfs=90, n_crypto_coins=30, n_forex=28)
SHORT = SyntheticSettings(start="2024-06-03", n_equities=22, n_etfs=8, n_crypto_coins=4, n_forex=4)


@pytest.fixture(scope="module")
def provider() -> SyntheticProvider:
    # the catalogue these tests were written against (the manifest's default is larger)
    return SyntheticProvider(CATALOGUE, as_of=AS_OF)


def _log_returns(p: SyntheticProvider, symbol: str, start: date = date(2023, 1, 1)) -> pd.Series:
    frame = p.candles(symbol, start, AS_OF).drop_duplicates("session").set_index("session")
    return np.log(frame["close"]).diff().dropna()


def _faulty(p: SyntheticProvider) -> set[str]:
    return {s for symbols in p.faults().values() for s in symbols}


# --------------------------------------------------------------------------------- catalogue


def test_is_a_provider(provider: SyntheticProvider) -> None:
    assert isinstance(provider, Provider)
    assert provider.name == "synthetic"
    with pytest.raises(NotImplementedError):
        provider.screen({"filter": []})


def test_catalogue_size_and_classes(provider: SyntheticProvider) -> None:
    listings = provider.listings()
    symbols = [x.symbol for x in listings]
    assert len(listings) >= 600
    assert symbols == sorted(symbols) and len(set(symbols)) == len(symbols)
    classes = {x.asset_class for x in listings}
    assert classes == set(AssetClass) - {AssetClass.INDEX}
    equities = [x for x in listings if x.asset_class is AssetClass.EQUITY]
    assert len(equities) == 330
    assert {x.sector for x in equities} == GICS_SECTORS
    for x in equities:
        assert x.exchange in {"NASDAQ", "NYSE"} and x.ticker.isalpha() and x.ticker.isupper()
        assert x.industry and x.description and x.market_cap > 0
        assert x.calendar is CalendarKind.NYSE
    funds = [x for x in listings if x.asset_class in (AssetClass.ETF, AssetClass.BOND)]
    assert all(x.exchange in {"AMEX", "ARCA"} for x in funds)
    kinds = {x.symbol: x.asset_class for x in listings}
    assert kinds[MARKET_SYMBOL] is AssetClass.ETF
    assert kinds["AMEX:TLT"] is AssetClass.BOND and kinds["AMEX:HYG"] is AssetClass.BOND
    assert kinds["AMEX:GLD"] is AssetClass.COMMODITY and kinds["AMEX:USO"] is AssetClass.COMMODITY
    assert kinds["AMEX:XLK"] is AssetClass.ETF
    summary = provider.market_summary()
    assert summary["listings"] == len(listings)
    assert sum(summary["by_asset_class"].values()) == len(listings)
    assert set(summary["by_sector"]) == GICS_SECTORS


def test_crypto_venues_and_forex_pairs(provider: SyntheticProvider) -> None:
    symbols = {x.symbol for x in provider.listings()}
    for symbol in (
        "BINANCE:BTCUSDT",
        "BINANCE:BTCUSDT.P",
        "BYBIT:BTCUSDT",
        "OKX:BTCUSDT",
        "COINBASE:BTCUSD",
        "BINANCE:ETHBTC",
        "FX_IDC:EURUSD",
        "FX_IDC:USDJPY",
        "FX_IDC:EURGBP",
    ):
        assert symbol in symbols
    btc = provider.metadata("BINANCE:BTCUSDT.P")
    assert (btc.base, btc.quote, btc.calendar) == ("BTC", "USDT", CalendarKind.CRYPTO_24_7)
    assert btc.extra["instrument"] == "perpetual"
    assert provider.metadata("COINBASE:BTCUSD").quote == "USD"
    eurusd = provider.metadata("FX_IDC:EURUSD")
    assert (eurusd.base, eurusd.quote, eurusd.calendar) == ("EUR", "USD", CalendarKind.FOREX_24_5)
    crypto = [x for x in provider.listings() if x.asset_class is AssetClass.CRYPTO]
    assert all(x.base and x.quote for x in crypto)
    venues_per_coin = pd.Series([x.base for x in crypto]).value_counts()
    assert venues_per_coin.min() < venues_per_coin.max()  # not every coin on every venue
    forex = [x for x in provider.listings() if x.asset_class is AssetClass.FOREX]
    assert len(forex) == 28 and all(x.base and x.quote for x in forex)


def test_small_market_keeps_every_class() -> None:
    p = SyntheticProvider(
        SyntheticSettings(n_equities=11, n_etfs=4, n_crypto_coins=2, n_forex=2), as_of=AS_OF
    )
    summary = p.market_summary()
    assert set(summary["by_asset_class"]) == {c.value for c in AssetClass} - {"index"}
    assert len(summary["by_sector"]) == 11
    assert summary["by_calendar"]["24/5"] == 2


def test_unknown_symbol_is_named(provider: SyntheticProvider) -> None:
    with pytest.raises(UnknownSymbolError, match="NASDAQ:NOPE"):
        provider.metadata("NASDAQ:NOPE")
    with pytest.raises(UnknownSymbolError, match="NOPE"):
        provider.candles("NOPE", AS_OF, AS_OF)


def test_stats_count_calls() -> None:
    p = SyntheticProvider(SHORT, as_of=AS_OF)
    assert p.stats.total == 0
    p.candles(MARKET_SYMBOL, date(2025, 1, 1), AS_OF)
    p.candles(MARKET_SYMBOL, date(2025, 6, 1), AS_OF)
    p.candles("BINANCE:BTCUSDT", date(2025, 6, 1), AS_OF)
    p.metadata(MARKET_SYMBOL)
    assert p.stats.candle_calls == 3 and p.stats.metadata_calls == 1
    assert p.stats.by_symbol == {MARKET_SYMBOL: 2, "BINANCE:BTCUSDT": 1}


def test_bad_dates_and_settings() -> None:
    with pytest.raises(DataError, match="before the epoch"):
        SyntheticProvider(SyntheticSettings(), as_of=date(2018, 12, 31))
    with pytest.raises(DataError, match="horizon"):
        SyntheticProvider(SyntheticSettings(), as_of=date(2031, 1, 2))
    with pytest.raises(ConfigError, match="faults"):
        SyntheticProvider(
            SyntheticSettings(
                n_equities=11, n_etfs=4, n_crypto_coins=2, n_forex=2,
                faults=FaultSettings(missing_bars=500),
            ),
            as_of=AS_OF,
        )  # fmt: skip


# ------------------------------------------------------------------------------- determinism


def test_same_seed_and_as_of_give_identical_frames() -> None:
    a = SyntheticProvider(SHORT, as_of=AS_OF)
    b = SyntheticProvider(SHORT, as_of=AS_OF)
    assert [x.symbol for x in a.listings()] == [x.symbol for x in b.listings()]
    for listing in a.listings():
        pd.testing.assert_frame_equal(
            a.candles(listing.symbol, EPOCH, AS_OF), b.candles(listing.symbol, EPOCH, AS_OF)
        )
    pd.testing.assert_series_equal(a.regime_path(), b.regime_path())
    other = SyntheticProvider(SHORT.model_copy(update={"seed": 8}), as_of=AS_OF)
    assert not a.candles(MARKET_SYMBOL, EPOCH, AS_OF).equals(
        other.candles(MARKET_SYMBOL, EPOCH, AS_OF)
    )


def test_later_as_of_never_changes_a_bar() -> None:
    early = SyntheticProvider(SHORT, as_of=date(2025, 3, 14))
    late = SyntheticProvider(SHORT, as_of=AS_OF)
    for listing in early.listings():
        old = early.candles(listing.symbol, EPOCH, AS_OF).drop_duplicates("session")
        new = late.candles(listing.symbol, EPOCH, date(2025, 3, 14)).drop_duplicates("session")
        shared = old.merge(new, on="session", suffixes=("_old", "_new"))
        assert len(shared) >= len(old) - 10, listing.symbol  # only a stale tail may differ
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(shared[f"{col}_old"], shared[f"{col}_new"])
    path = late.regime_path()
    pd.testing.assert_series_equal(early.regime_path(), path.loc[: pd.Timestamp("2025-03-14")])


# --------------------------------------------------------------------------------- calendars


def test_listings_trade_on_their_own_calendars(provider: SyntheticProvider) -> None:
    start = date(2025, 1, 1)
    spy = provider.candles(MARKET_SYMBOL, start, AS_OF)
    assert spy["session"].equals(
        pd.Series(sessions(CalendarKind.NYSE, start, AS_OF), name="session")
    )
    days = pd.DatetimeIndex(spy["session"])
    assert (days.dayofweek < 5).all()
    assert pd.Timestamp("2025-11-27") not in days and pd.Timestamp("2025-12-25") not in days
    btc = pd.DatetimeIndex(provider.candles("BINANCE:BTCUSDT", start, AS_OF)["session"])
    assert len(btc) == 365 and (btc.dayofweek >= 5).any()
    eur = pd.DatetimeIndex(provider.candles("FX_IDC:EURUSD", start, AS_OF)["session"])
    assert (eur.dayofweek < 5).all() and pd.Timestamp("2025-12-25") in eur


def test_candles_are_clipped_to_the_as_of_date() -> None:
    p = SyntheticProvider(SHORT, as_of=date(2025, 11, 29))  # a Saturday
    frame = p.candles(MARKET_SYMBOL, date(2025, 11, 1), date(2026, 6, 1))
    assert frame["session"].iloc[-1] == pd.Timestamp("2025-11-28")
    assert p.candles("BINANCE:BTCUSDT", date(2025, 11, 1), AS_OF)["session"].iloc[-1] == (
        pd.Timestamp("2025-11-29")
    )
    empty = p.candles(MARKET_SYMBOL, date(2025, 11, 20), date(2025, 11, 10))
    assert list(empty.columns) == list(CANDLE_COLUMNS) and empty.empty
    assert empty["session"].dtype == np.dtype("datetime64[ns]")


# ------------------------------------------------------------------------------------- model


def test_ohlc_is_consistent(provider: SyntheticProvider) -> None:
    duplicated = set(provider.faults()[FaultKind.DUPLICATED_ROWS])
    validated: set[AssetClass] = set()
    for listing in provider.listings():
        frame = provider.candles(listing.symbol, date(2024, 1, 1), AS_OF)
        assert list(frame.columns) == list(CANDLE_COLUMNS)
        o, h, lo, c, v = (frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
        assert (lo > 0).all() and (v >= 0).all() and np.isfinite(v).all(), listing.symbol
        assert (lo <= np.minimum(o, c)).all() and (h >= np.maximum(o, c)).all(), listing.symbol
        if listing.symbol not in duplicated and listing.asset_class not in validated:
            validated.add(listing.asset_class)  # the full schema check, once per class
            validate_candles(frame, source=listing.symbol)
    assert len(validated) == 6


def test_listings_of_one_coin_move_together(provider: SyntheticProvider) -> None:
    faulty = _faulty(provider)
    crypto = [x for x in provider.listings() if x.asset_class is AssetClass.CRYPTO]
    by_coin: dict[str, list[str]] = {}
    for x in crypto:
        if x.quote != "BTC":
            by_coin.setdefault(x.base, []).append(x.symbol)
    clean = [c for c, syms in by_coin.items() if len(syms) >= 4 and not faulty & set(syms)]
    assert len(clean) >= 2
    for coin in clean[:2]:
        frame = pd.concat({s: _log_returns(provider, s) for s in by_coin[coin]}, axis=1).dropna()
        corr = frame.corr().to_numpy()
        assert corr[np.triu_indices(len(corr), 1)].min() > 0.98, coin
    first, second = clean[0], clean[1]
    across = _log_returns(provider, by_coin[first][0]).corr(
        _log_returns(provider, by_coin[second][0])
    )
    assert across < 0.95
    pair = next(x for x in crypto if x.quote == "BTC" and x.base in clean)
    usdt = _log_returns(provider, f"BINANCE:{pair.base}USDT")
    assert _log_returns(provider, pair.symbol).corr(usdt) < 0.9


def test_market_follows_the_global_factor_and_bonds_diversify(provider: SyntheticProvider) -> None:
    spy = _log_returns(provider, MARKET_SYMBOL, EPOCH)
    glob = provider.factor_returns()["global"].reindex(spy.index)
    assert spy.corr(glob) > 0.95
    assert spy.corr(_log_returns(provider, "AMEX:TLT", EPOCH)) < 0.2
    assert spy.corr(_log_returns(provider, "AMEX:XLK", EPOCH)) > 0.6


def test_regime_path_is_ground_truth(provider: SyntheticProvider) -> None:
    path = provider.regime_path()
    assert path.index.equals(pd.date_range(EPOCH, AS_OF, freq="D"))
    assert set(path.unique()) <= {r.value for r in Regime}
    assert path.value_counts().max() < len(path)  # it moves
    assert (path != path.shift()).sum() < len(path) / 10  # and persists
    spy = _log_returns(provider, MARKET_SYMBOL, EPOCH)
    vol = spy.groupby(path.reindex(spy.index)).std()
    assert vol[Regime.QUIET.value] < vol[Regime.NORMAL.value] < vol[Regime.TURBULENT.value]


# ------------------------------------------------------------------------------------ faults


def test_fault_ground_truth_is_deterministic_and_spares_the_market(
    provider: SyntheticProvider,
) -> None:
    faults = provider.faults()
    settings = FaultSettings()
    assert {k: len(v) for k, v in faults.items()} == {
        "missing_bars": settings.missing_bars,
        "stale_listings": settings.stale_listings,
        "spikes": settings.spikes,
        "duplicated_rows": settings.duplicated_rows,
    }
    everyone = [s for symbols in faults.values() for s in symbols]
    assert len(everyone) == len(set(everyone)) and MARKET_SYMBOL not in everyone
    assert SyntheticProvider(CATALOGUE, as_of=date(2025, 6, 1)).faults() == faults


def test_missing_bars_are_real_gaps(provider: SyntheticProvider) -> None:
    details = {r.symbol: r for r in provider.fault_details() if r.kind is FaultKind.MISSING_BARS}
    for symbol, record in details.items():
        kind = provider.metadata(symbol).calendar
        window = sessions(kind, EPOCH, AS_OF)[-60:]
        served = set(provider.candles(symbol, window[0], AS_OF)["session"])
        missing = [d for d in window if d not in served]
        assert 3 <= len(missing) <= 12, symbol
        assert set(missing) <= set(record.sessions)
        assert window[-1] in served  # a gap, not a stale tail
        # the repair path asks again with a narrower range: still missing
        again = provider.candles(symbol, missing[0], missing[-1])
        assert not set(again["session"]) & set(missing)


def test_stale_listings_stop_early(provider: SyntheticProvider) -> None:
    for symbol in provider.faults()["stale_listings"]:
        kind = provider.metadata(symbol).calendar
        expected = sessions(kind, EPOCH, AS_OF)
        last = provider.candles(symbol, date(2025, 1, 1), AS_OF)["session"].iloc[-1]
        position = expected.get_loc(last)
        assert isinstance(position, int)
        lag = len(expected) - 1 - position
        assert 5 <= lag <= 10, symbol


def test_spikes_jump_and_revert(provider: SyntheticProvider) -> None:
    records = [r for r in provider.fault_details() if r.kind is FaultKind.SPIKES]
    assert len(records) == 2
    for record in records:
        kind = provider.metadata(record.symbol).calendar
        recent = sessions(kind, EPOCH, AS_OF)[-120:]
        hits = [d for d in record.sessions if recent[0] <= d < recent[-1]]
        assert hits, record.symbol
        close = provider.candles(record.symbol, recent[0], AS_OF).set_index("session")["close"]
        jump = close / close.shift()
        day = hits[-1]
        position = close.index.get_loc(day)
        assert isinstance(position, int)
        nxt = close.index[position + 1]
        assert jump[day] > SPIKE_FACTOR * 0.7 and jump[nxt] < 1 / (SPIKE_FACTOR * 0.7)


def test_duplicated_rows_repeat_one_session(provider: SyntheticProvider) -> None:
    for symbol in provider.faults()["duplicated_rows"]:
        frame = provider.candles(symbol, date(2025, 6, 1), AS_OF)
        dup = frame[frame["session"].duplicated(keep=False)]
        assert len(dup) == 2, symbol
        assert (dup.iloc[0] == dup.iloc[1]).all()
        with pytest.raises(SchemaError, match="duplicated session"):
            validate_candles(frame, source=symbol)
    clean = provider.candles(MARKET_SYMBOL, date(2025, 6, 1), AS_OF)
    assert clean["session"].is_unique
