"""Screener columns on real candles, each checked against an independent computation.

The references below are written differently from ``columns.py`` on purpose: plain Python loops
for the recursive smoothers (Wilder, EMA), slices for the windows, scalar calendar arithmetic for
the performance columns and ``pandas.resample`` for the weekly and monthly bars.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.data.schema import Listing
from clusterfolio.discovery.columns import (
    DEFAULT_COLUMNS,
    INDICATOR_COLUMNS,
    parse_column,
    previous_column,
    resample_candles,
    screener_row,
    screener_table,
)
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import DataError

TOL = 1e-12


# ------------------------------------------------------------------------- references


def ref_sma(x: Sequence[float], n: int, i: int) -> float:
    if i + 1 < n:
        return math.nan
    window = x[i + 1 - n : i + 1]
    return math.fsum(window) / n


def ref_smooth(x: Sequence[float], n: int, alpha: float) -> list[float]:
    """Seeded exponential smoothing written as a loop."""
    out = [math.nan] * len(x)
    first = next((k for k, v in enumerate(x) if not math.isnan(v)), None)
    if first is None or first + n - 1 >= len(x):
        return out
    start = first + n - 1
    y = sum(x[first : first + n]) / n
    out[start] = y
    for t in range(start + 1, len(x)):
        y = alpha * x[t] + (1.0 - alpha) * y
        out[t] = y
    return out


def ref_rma(x: Sequence[float], n: int) -> list[float]:
    return ref_smooth(x, n, 1.0 / n)


def ref_ema(x: Sequence[float], n: int) -> list[float]:
    return ref_smooth(x, n, 2.0 / (n + 1))


class Ref:
    """Reference indicators of one frame (lists, plain Python)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.s = list(pd.to_datetime(frame["session"]))
        self.o = frame["open"].tolist()
        self.h = frame["high"].tolist()
        self.lo = frame["low"].tolist()
        self.c = frame["close"].tolist()
        self.v = frame["volume"].tolist()
        self.n = len(self.c)
        self.tr = [
            self.h[0] - self.lo[0],
            *(
                max(
                    self.h[i] - self.lo[i],
                    abs(self.h[i] - self.c[i - 1]),
                    abs(self.lo[i] - self.c[i - 1]),
                )
                for i in range(1, self.n)
            ),
        ]

    def rsi(self, length: int) -> list[float]:
        gains = [math.nan] + [max(self.c[i] - self.c[i - 1], 0.0) for i in range(1, self.n)]
        losses = [math.nan] + [max(self.c[i - 1] - self.c[i], 0.0) for i in range(1, self.n)]
        up, dn = ref_rma(gains, length), ref_rma(losses, length)
        out = []
        for u, d in zip(up, dn, strict=True):
            if math.isnan(u) or math.isnan(d):
                out.append(math.nan)
            elif d == 0:
                out.append(100.0)
            elif u == 0:
                out.append(0.0)
            else:
                out.append(100.0 - 100.0 / (1.0 + u / d))
        return out

    def dmi(self) -> tuple[list[float], list[float], list[float]]:
        plus_dm, minus_dm, tr = [math.nan], [math.nan], [math.nan]
        for i in range(1, self.n):
            up = self.h[i] - self.h[i - 1]
            down = self.lo[i - 1] - self.lo[i]
            plus_dm.append(up if up > down and up > 0 else 0.0)
            minus_dm.append(down if down > up and down > 0 else 0.0)
            tr.append(self.tr[i])
        atr = ref_rma(tr, 14)
        p_s, m_s = ref_rma(plus_dm, 14), ref_rma(minus_dm, 14)
        plus = [100 * p / a if a else math.nan for p, a in zip(p_s, atr, strict=True)]
        minus = [100 * m / a if a else math.nan for m, a in zip(m_s, atr, strict=True)]
        dx = []
        for p, m in zip(plus, minus, strict=True):
            total = p + m
            dx.append(abs(p - m) / (total if total != 0 else 1.0))
        adx = [100 * a for a in ref_rma(dx, 14)]
        return plus, minus, adx

    def extremes(self, i: int, n: int) -> tuple[float, float]:
        if i + 1 < n:
            return math.nan, math.nan
        return max(self.h[i + 1 - n : i + 1]), min(self.lo[i + 1 - n : i + 1])

    def stoch(self) -> tuple[list[float], list[float]]:
        raw = []
        for i in range(self.n):
            hh, ll = self.extremes(i, 14)
            raw.append(100 * (self.c[i] - ll) / (hh - ll) if hh != ll else math.nan)
        k = [ref_sma(raw, 3, i) for i in range(self.n)]
        d = [ref_sma(k, 3, i) for i in range(self.n)]
        return k, d

    def williams(self) -> list[float]:
        out = []
        for i in range(self.n):
            hh, ll = self.extremes(i, 14)
            out.append(-100 * (hh - self.c[i]) / (hh - ll) if hh != ll else math.nan)
        return out

    def cci(self) -> list[float]:
        tp = [(h + lo + c) / 3 for h, lo, c in zip(self.h, self.lo, self.c, strict=True)]
        out = []
        for i in range(self.n):
            if i < 19:
                out.append(math.nan)
                continue
            w = np.array(tp[i - 19 : i + 1])
            mean = w.mean()
            mad = np.abs(w - mean).mean()
            out.append((tp[i] - mean) / (0.015 * mad))
        return out

    def ao(self) -> list[float]:
        hl2 = [(h + lo) / 2 for h, lo in zip(self.h, self.lo, strict=True)]
        return [ref_sma(hl2, 5, i) - ref_sma(hl2, 34, i) for i in range(self.n)]

    def perf(self, i: int, offset: pd.DateOffset) -> float:
        ref_date = self.s[i] - offset
        j = bisect_right(self.s, ref_date) - 1
        return 100 * (self.c[i] / self.c[j] - 1) if j >= 0 else math.nan

    def values(self, i: int) -> dict[str, float]:
        """Every column at bar ``i``."""
        c, v = self.c, self.v
        out: dict[str, float] = {
            "open": self.o[i],
            "high": self.h[i],
            "low": self.lo[i],
            "close": c[i],
            "volume": v[i],
            "change": 100 * (c[i] / c[i - 1] - 1) if i else math.nan,
            "change_abs": c[i] - c[i - 1] if i else math.nan,
            "gap": 100 * (self.o[i] / c[i - 1] - 1) if i else math.nan,
            "Value.Traded": c[i] * v[i],
            "Volatility.D": 100 * self.tr[i] / abs(self.lo[i]),
            "Mom": c[i] - c[i - 10] if i >= 10 else math.nan,
        }
        for n in (10, 30, 60, 90):
            out[f"average_volume_{n}d_calc"] = ref_sma(v, n, i)
        prev10 = ref_sma(v, 10, i - 1) if i else math.nan
        out["relative_volume_10d_calc"] = v[i] / prev10 if prev10 else math.nan
        for name, off in {
            "Perf.W": pd.DateOffset(days=7),
            "Perf.1M": pd.DateOffset(months=1),
            "Perf.3M": pd.DateOffset(months=3),
            "Perf.6M": pd.DateOffset(months=6),
            "Perf.Y": pd.DateOffset(years=1),
        }.items():
            out[name] = self.perf(i, off)
        year_end = pd.Timestamp(year=self.s[i].year - 1, month=12, day=31)
        j = bisect_right(self.s, year_end) - 1
        out["Perf.YTD"] = 100 * (c[i] / c[j] - 1) if j >= 0 else math.nan
        for days, name in ((7, "Volatility.W"), (30, "Volatility.M")):
            lo_date = self.s[i] - pd.Timedelta(days=days)
            rng = [
                100 * (self.h[k] - self.lo[k]) / abs(self.lo[k])
                for k in range(i + 1)
                if self.s[k] > lo_date
            ]
            out[name] = sum(rng) / len(rng)
        atr = ref_rma(self.tr, 14)
        out["ATR"] = atr[i]
        out["ATRP"] = 100 * atr[i] / c[i]
        out["RSI"] = self.rsi(14)[i]
        out["RSI7"] = self.rsi(7)[i]
        plus, minus, adx = self.dmi()
        out["ADX+DI"], out["ADX-DI"], out["ADX"] = plus[i], minus[i], adx[i]
        for n in (10, 20, 30, 50, 100, 200):
            out[f"SMA{n}"] = ref_sma(c, n, i)
            out[f"EMA{n}"] = ref_ema(c, n)[i]
        e12, e26 = ref_ema(c, 12), ref_ema(c, 26)
        macd = [a - b for a, b in zip(e12, e26, strict=True)]
        signal = ref_ema(macd, 9)
        out["MACD.macd"], out["MACD.signal"] = macd[i], signal[i]
        k, d = self.stoch()
        out["Stoch.K"], out["Stoch.D"] = k[i], d[i]
        out["CCI20"] = self.cci()[i]
        out["W.R"] = self.williams()[i]
        out["AO"] = self.ao()[i]
        out.update(self.recommend(i))
        return out

    def recommend(self, i: int) -> dict[str, float]:
        """TradingView-style rating at bar ``i`` from the reference indicators."""
        c = self.c
        ma_votes = []
        for n in (10, 20, 30, 50, 100, 200):
            for ma in (ref_sma(c, n, i), ref_ema(c, n)[i]):
                if not math.isnan(ma):
                    ma_votes.append(float(np.sign(c[i] - ma)))
        rsi = self.rsi(14)
        k, d = self.stoch()
        cci = self.cci()
        plus, minus, adx = self.dmi()
        ao = self.ao()
        mom = [c[t] - c[t - 10] if t >= 10 else math.nan for t in range(self.n)]
        e12, e26 = ref_ema(c, 12), ref_ema(c, 26)
        macd = [a - b for a, b in zip(e12, e26, strict=True)]
        signal = ref_ema(macd, 9)
        wr = self.williams()

        def vote(buy: bool, sell: bool, *inputs: float) -> float | None:
            if any(math.isnan(x) for x in inputs):
                return None
            return 1.0 if buy else -1.0 if sell else 0.0

        p = i - 1
        votes = [
            vote(rsi[i] < 30 and rsi[i] > rsi[p], rsi[i] > 70 and rsi[i] < rsi[p], rsi[i], rsi[p]),
            vote(
                k[i] < 20 and k[i] > d[i] and k[p] < d[p],
                k[i] > 80 and k[i] < d[i] and k[p] > d[p],
                k[i],
                d[i],
                k[p],
                d[p],
            ),
            vote(
                cci[i] < -100 and cci[i] > cci[p], cci[i] > 100 and cci[i] < cci[p], cci[i], cci[p]
            ),
            vote(
                adx[i] > 20 and plus[p] < minus[p] and plus[i] > minus[i],
                adx[i] > 20 and plus[p] > minus[p] and plus[i] < minus[i],
                adx[i],
                plus[p],
                minus[p],
            ),
            vote(ao[i] > 0 and ao[i] > ao[p], ao[i] < 0 and ao[i] < ao[p], ao[i], ao[p]),
            vote(mom[i] > mom[p], mom[i] < mom[p], mom[i], mom[p]),
            vote(macd[i] > signal[i], macd[i] < signal[i], macd[i], signal[i]),
            vote(wr[i] < -80 and wr[i] > wr[p], wr[i] > -20 and wr[i] < wr[p], wr[i], wr[p]),
        ]
        osc = [x for x in votes if x is not None]
        ma_r = sum(ma_votes) / len(ma_votes) if ma_votes else math.nan
        osc_r = sum(osc) / len(osc) if osc else math.nan
        both = [x for x in (ma_r, osc_r) if not math.isnan(x)]
        return {
            "Recommend.MA": ma_r,
            "Recommend.Other": osc_r,
            "Recommend.All": sum(both) / len(both) if both else math.nan,
        }


def pandas_resample(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    agg = (
        frame.set_index("session")
        .resample(rule)
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    )
    return agg.dropna(subset=["close"]).reset_index()


def assert_close(actual: float, expected: float, name: str) -> None:
    if math.isnan(expected):
        assert math.isnan(actual), f"{name}: expected NaN, got {actual}"
        return
    assert actual == pytest.approx(expected, rel=TOL, abs=TOL), name


# ------------------------------------------------------------------------- tests


def test_daily_columns_match_reference_on_real_candles(xlk: pd.DataFrame) -> None:
    ref = Ref(xlk)
    expected = ref.values(ref.n - 1)
    previous = ref.values(ref.n - 2)
    names = list(INDICATOR_COLUMNS)
    row = screener_row(xlk, [*names, *(f"{n}[1]" for n in names)], symbol="AMEX:XLK")
    assert set(expected) == set(INDICATOR_COLUMNS)
    for name in names:
        assert_close(row[name], expected[name], name)
        assert_close(row[f"{name}[1]"], previous[name], f"{name}[1]")
    # the recommendation is a proper rating on this history
    assert -1.0 <= row["Recommend.All"] <= 1.0


@pytest.mark.parametrize(("timeframe", "rule"), [("1W", "W-FRI"), ("1M", "ME")])
def test_resampled_columns_match_pandas_resample(
    xlk: pd.DataFrame, timeframe: str, rule: str
) -> None:
    bars = pandas_resample(xlk, rule)
    ours = resample_candles(xlk, timeframe)
    assert list(ours["session"]) == list(bars["session"])
    np.testing.assert_allclose(
        ours[["open", "high", "low", "close", "volume"]].to_numpy(),
        bars[["open", "high", "low", "close", "volume"]].to_numpy(),
        rtol=TOL,
    )
    ref = Ref(bars)
    expected = ref.values(ref.n - 1)
    names = list(INDICATOR_COLUMNS)
    row = screener_row(xlk, [f"{n}|{timeframe}" for n in names] + [f"RSI[1]|{timeframe}"])
    for name in names:
        assert_close(row[f"{name}|{timeframe}"], expected[name], f"{name}|{timeframe}")
    assert_close(row[f"RSI[1]|{timeframe}"], ref.values(ref.n - 2)["RSI"], "RSI[1]")


def test_crypto_calendar_and_as_of(crypto_universe: tuple[dict, dict]) -> None:
    candles, _ = crypto_universe
    btc = candles["BITSTAMP:BTCUSD"]
    as_of = pd.Timestamp("2019-06-30")
    cut = btc.loc[btc["session"] <= as_of].reset_index(drop=True)
    ref = Ref(cut)
    expected = ref.values(ref.n - 1)
    row = screener_row(btc, ["close", "Perf.W", "Perf.1M", "ATR", "RSI", "close|1W"], as_of=as_of)
    for name in ("close", "Perf.W", "Perf.1M", "ATR", "RSI"):
        assert_close(row[name], expected[name], name)
    # 24/7: a calendar week is seven bars back
    assert_close(row["Perf.W"], 100 * (cut["close"].iloc[-1] / cut["close"].iloc[-8] - 1), "W")
    weekly = pandas_resample(cut, "W-FRI")
    assert_close(row["close|1W"], float(weekly["close"].iloc[-1]), "close|1W")


def test_screener_table_many_symbols(m6_universe: tuple[dict, dict]) -> None:
    candles, listings = m6_universe
    subset = {s: candles[s] for s in ("AMEX:XLK", "AMEX:TLT", "NYSE:JPM", "AMEX:XLC")}
    table = screener_table(subset, listings, as_of="2019-06-14")
    assert list(table.index) == sorted(subset)
    assert table.index.name == "symbol"
    assert list(table.columns[: len(DEFAULT_COLUMNS)]) == list(DEFAULT_COLUMNS)
    assert table.loc["AMEX:TLT", "asset_class"] == "bond"
    assert table.loc["NYSE:JPM", "type"] == "stock"
    assert table.loc["AMEX:XLK", "typespecs"] == ["etf"]
    assert table.loc["AMEX:XLK", "market"] == "america"
    for symbol, frame in subset.items():
        cut = frame.loc[frame["session"] <= pd.Timestamp("2019-06-14")]
        assert table.loc[symbol, "close"] == cut["close"].iloc[-1]
    # XLC started on 2018-06-19: no close a calendar year back yet, but 200 sessions exist
    xlc = table.loc["AMEX:XLC", ["Perf.Y", "SMA200"]].astype(float)
    assert np.isnan(xlc["Perf.Y"]) and not np.isnan(xlc["SMA200"])


def test_metadata_columns() -> None:
    frame = pd.DataFrame(
        {
            "session": pd.date_range("2024-01-01", periods=3),
            "open": [1.0, 2.0, 3.0],
            "high": [1.0, 2.0, 3.0],
            "low": [1.0, 2.0, 3.0],
            "close": [1.0, 2.0, 3.0],
            "volume": [1.0, 1.0, 1.0],
        }
    )
    listing = Listing(
        symbol="BINANCE:BTCUSDT.P",
        asset_class=AssetClass.CRYPTO,
        calendar=CalendarKind.CRYPTO_24_7,
        market_cap=1e12,
    )
    row = screener_row(
        frame,
        ["name", "type", "typespecs", "market", "currency", "base_currency", "market_cap_basic"],
        symbol="BINANCE:BTCUSDT.P",
        listing=listing,
    )
    assert row == {
        "name": "BTCUSDT.P",
        "type": "swap",
        "typespecs": ["perpetual"],
        "market": "crypto",
        "currency": "USDT",
        "base_currency": "BTC",
        "market_cap_basic": 1e12,
    }
    fx = screener_row(frame, ["type", "market", "kind"], symbol="FX_IDC:EURUSD")
    assert fx == {"type": "forex", "market": "forex", "kind": "forex"}


def test_short_history_gives_nan() -> None:
    frame = pd.DataFrame(
        {
            "session": pd.date_range("2024-01-01", periods=5),
            "open": [1.0, 2, 3, 4, 5],
            "high": [1.0, 2, 3, 4, 5],
            "low": [1.0, 2, 3, 4, 5],
            "close": [1.0, 2, 3, 4, 5],
            "volume": [1.0] * 5,
        }
    )
    row = screener_row(frame, ["SMA20", "RSI", "ADX", "Recommend.All", "Perf.Y", "close[9]"])
    assert all(math.isnan(v) for v in row.values())
    empty = screener_row(frame.iloc[0:0], ["close", "close|1W"])
    assert all(math.isnan(v) for v in empty.values())


def test_column_grammar() -> None:
    spec = parse_column("RSI[1]|1W")
    assert (spec.base, spec.shift, spec.timeframe) == ("RSI", 1, "1W")
    assert previous_column("RSI|1W") == "RSI[1]|1W"
    assert previous_column("close") == "close[1]"
    for bad in ("RSI|60", "nonsense", "name|1W", "RSI[x]"):
        with pytest.raises(DataError):
            parse_column(bad)


def test_missing_candle_columns(xlk: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="missing candle columns"):
        screener_row(xlk.drop(columns="volume"), ["close"], symbol="AMEX:XLK")


def test_shared_fixture_path(shared_data: Path) -> None:
    assert (shared_data / "etfs" / "m6_universe" / "XLK.csv.gz").is_file()


# ------------------------------------------------------------------------- panels


ALL_COLUMNS: list[str] = [
    *INDICATOR_COLUMNS,
    *(f"{n}[1]" for n in INDICATOR_COLUMNS),
    *(f"{n}|1W" for n in INDICATOR_COLUMNS),
    *(f"{n}[2]|1M" for n in INDICATOR_COLUMNS),
]


def _assert_tables_equal(got: pd.DataFrame, want: pd.DataFrame, columns: Sequence[str]) -> None:
    for name in columns:
        a = got[name].to_numpy(dtype=float)
        b = want[name].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=TOL, atol=TOL, err_msg=name)


@pytest.fixture(scope="module")
def mixed_universe(
    crypto_universe: tuple[dict, dict],
    m6_universe: tuple[dict, dict],
    fx_universe: tuple[dict, dict],
) -> dict[str, pd.DataFrame]:
    """Real candles of three calendars and very different lengths (232 to 2600 bars)."""
    out: dict[str, pd.DataFrame] = {}
    for part in (crypto_universe, m6_universe, fx_universe):
        out.update(part[0])
    return out


def test_table_equals_each_symbol_alone(mixed_universe: dict[str, pd.DataFrame]) -> None:
    """Stacking symbols of every calendar and length in panels changes no value."""
    symbols = sorted(mixed_universe)[::9]
    candles = {s: mixed_universe[s] for s in symbols}
    table = screener_table(candles, {}, ALL_COLUMNS, as_of="2020-06-30")
    alone = pd.DataFrame.from_records(
        [screener_row(candles[s], ALL_COLUMNS, symbol=s, as_of="2020-06-30") for s in symbols],
        index=pd.Index(symbols, name="symbol"),
    )
    _assert_tables_equal(table, alone, ALL_COLUMNS)


def test_small_panels_and_edge_lengths(
    mixed_universe: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows split over many small panels, empty and one-bar histories, unsorted input."""
    from clusterfolio.discovery import columns

    symbols = sorted(mixed_universe)[:40]
    candles = {s: mixed_universe[s] for s in symbols}
    btc = mixed_universe["BITSTAMP:BTCUSD"]
    candles["X:EMPTY"] = btc.iloc[0:0]
    candles["X:ONE"] = btc.iloc[:1]
    candles["X:SHUFFLED"] = btc.sample(frac=1.0, random_state=3)
    names = [*INDICATOR_COLUMNS, "RSI|1W", "close[1]|1M", "SMA20[5]"]
    reference = screener_table(candles, {}, names)
    monkeypatch.setattr(columns, "PANEL_CELLS", 5000)
    assert len(columns._panels(np.array([len(f) for f in candles.values()]))) > 10
    _assert_tables_equal(screener_table(candles, {}, names), reference, names)
    alone = screener_row(btc, names)
    for name in names:
        assert_close(float(reference.loc["X:SHUFFLED", name]), alone[name], name)  # type: ignore[arg-type]
    assert reference.loc["X:EMPTY", names].isna().all()
    assert reference.loc["X:ONE", "close"] == btc["close"].iloc[0]
    assert np.isnan(reference.loc["X:ONE", "change"])  # type: ignore[arg-type]


def test_start_bounds_the_history(xlk: pd.DataFrame) -> None:
    start, as_of = pd.Timestamp("2019-01-15"), pd.Timestamp("2020-02-28")
    cut = xlk.loc[(xlk["session"] >= start) & (xlk["session"] <= as_of)]
    names = ["EMA200", "RSI", "Perf.Y", "Recommend.All", "MACD.signal|1W"]
    got = screener_table({"AMEX:XLK": xlk}, {}, names, as_of=as_of, start=start)
    want = screener_row(cut, names)
    for name in names:
        assert_close(float(got.loc["AMEX:XLK", name]), want[name], name)  # type: ignore[arg-type]
    # the seeded EMA depends on where the history starts
    full = screener_row(xlk, ["EMA200"], as_of=as_of)
    assert full["EMA200"] != pytest.approx(want["EMA200"], rel=1e-9)


def test_recursion_with_a_gap_after_the_seed() -> None:
    """A row with a missing value after its seed is smoothed by pandas' ewm rules, the others
    by the vectorised loop; both agree with independent computations."""
    from clusterfolio.discovery.columns import rma, seeded_smooth

    rng = np.random.default_rng(5)
    panel = rng.normal(1.0, 0.3, size=(3, 60))
    panel[0, :7] = np.nan  # starts late
    panel[1, 30] = np.nan  # a gap after the seed
    out = seeded_smooth(panel, 14, 1.0 / 14)
    for r in (0, 2):
        assert_close_seq(out[r], ref_rma(list(panel[r]), 14))
    seq = panel[1, 13:].copy()
    seq[0] = panel[1, :14].mean()
    expected = pd.Series(seq).ewm(alpha=1.0 / 14, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(out[1, 13:], expected, rtol=TOL)
    assert np.isnan(out[1, :13]).all()
    np.testing.assert_allclose(rma(panel[2], 14), out[2], rtol=0, atol=0)


def assert_close_seq(actual: np.ndarray, expected: Sequence[float]) -> None:
    for k, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert_close(float(a), e, f"bar {k}")


def test_windows_with_missing_values() -> None:
    """SMA and rolling extremes are NaN unless the whole window is defined."""
    from clusterfolio.discovery.columns import _rolling_extreme, sma

    x = np.array([[1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0], [8.0, 1.0, 7.0, 2.0, 6.0, 3, 5, 4]])
    got = sma(x, 3)
    want = pd.DataFrame(x.T).rolling(3, min_periods=3).mean().to_numpy().T
    np.testing.assert_allclose(got, want, rtol=TOL)
    for n in (1, 2, 3, 5, 8, 9):
        frame = pd.DataFrame(x.T).rolling(n, min_periods=n)
        hi = _rolling_extreme(x, n, highest=True)
        lo = _rolling_extreme(x, n, highest=False)
        np.testing.assert_array_equal(hi, frame.max().to_numpy().T)
        np.testing.assert_array_equal(lo, frame.min().to_numpy().T)
