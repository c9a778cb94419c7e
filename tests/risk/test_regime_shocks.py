"""The regime on real shocks of ``../shared/data``, read with the data up to each day.

Every label below is :func:`detect_regime` on the return matrix cut at that day (proxy and
dispersion built from the rows up to it), with the calibrated defaults and the spectral flag on;
the table is the closing note of issue 12 and ``docs/regime-calibration.md`` ("Real shocks").
The M6 ETFs (50 ETFs, April 2017 to April 2022) carry a cross-section; the five factor ETFs
just do (5 members); BTC alone has none, so its volatility level stands in for the dispersion.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clusterfolio.enums import Regime
from clusterfolio.manifest import Settings
from clusterfolio.risk.regime import detect_regime, market_dispersion, market_proxy

SETTINGS = Settings().risk.regime

#: (universe, day) -> label read with the data up to that day.
EXPECTED: dict[tuple[str, str], Regime] = {
    ("m6_etfs", "2020-02-20"): Regime.NORMAL,
    ("m6_etfs", "2020-02-24"): Regime.NORMAL,
    ("m6_etfs", "2020-02-25"): Regime.TURBULENT,
    ("m6_etfs", "2020-02-26"): Regime.CRISIS,
    ("m6_etfs", "2020-03-16"): Regime.CRISIS,
    ("m6_etfs", "2020-03-23"): Regime.CRISIS,
    ("m6_etfs", "2022-01-27"): Regime.CRISIS,
    ("m6_etfs", "2022-03-07"): Regime.CRISIS,
    ("factor_etfs", "2021-11-15"): Regime.QUIET,
    ("factor_etfs", "2022-01-24"): Regime.TURBULENT,
    ("factor_etfs", "2022-05-12"): Regime.CRISIS,
    ("factor_etfs", "2022-06-16"): Regime.CRISIS,
    ("factor_etfs", "2022-10-13"): Regime.TURBULENT,
    ("btc", "2021-05-12"): Regime.NORMAL,
    ("btc", "2021-05-13"): Regime.NORMAL,
    ("btc", "2021-05-19"): Regime.TURBULENT,
    ("btc", "2021-05-20"): Regime.TURBULENT,
    ("btc", "2021-05-21"): Regime.CRISIS,
    ("btc", "2021-05-24"): Regime.CRISIS,
    ("btc", "2022-11-08"): Regime.QUIET,
    ("btc", "2022-11-09"): Regime.QUIET,
    ("btc", "2022-11-10"): Regime.NORMAL,
    ("btc", "2022-11-11"): Regime.TURBULENT,
    ("btc", "2022-11-14"): Regime.TURBULENT,
}


def _m6_etfs(root: Path) -> pd.DataFrame:
    folder = root / "etfs" / "m6_universe"
    universe = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    returns = {}
    for symbol in universe.loc[universe["class"] == "ETF", "symbol"]:
        prices = pd.read_csv(folder / f"{symbol}.csv.gz", parse_dates=["Date"])
        close = prices.set_index("Date")["Adjusted_close"].sort_index()
        returns[symbol] = close.pct_change().dropna()  # on the ETF's own sessions
    return pd.DataFrame(returns).sort_index()


def _factor_etfs(root: Path) -> pd.DataFrame:
    frame = pd.read_csv(root / "etfs" / "skfolio" / "factors_dataset.csv.gz", parse_dates=["Date"])
    prices = frame.set_index("Date").sort_index()
    return prices.pct_change(fill_method=None).iloc[1:].rename(columns=lambda c: f"AMEX:{c}")


def _btc(root: Path) -> pd.DataFrame:
    bars = pd.read_parquet(root / "crypto" / "tradingview" / "BINANCE_BTCUSDT_1d.parquet")
    index = pd.to_datetime(bars["timestamp"], unit="s").dt.normalize()
    close = pd.Series(bars["close"].to_numpy(), index=index).sort_index()
    return pd.DataFrame({"BINANCE:BTCUSDT": close.pct_change().iloc[1:]})


def _read_up_to(returns: pd.DataFrame, day: str, *, spectral: bool = True) -> Regime:
    upto = returns.loc[:day]
    proxy, dispersion = market_proxy(upto), market_dispersion(upto)
    assert proxy.index[-1] <= pd.Timestamp(day)
    return detect_regime(proxy, SETTINGS, spectral=spectral, dispersion=dispersion).label


@pytest.mark.realdata
def test_real_shocks_read_with_the_data_up_to_each_day(shared_data: Path) -> None:
    loaders = {"m6_etfs": _m6_etfs, "factor_etfs": _factor_etfs, "btc": _btc}
    frames = {name: load(shared_data) for name, load in loaders.items()}
    read = {(name, day): _read_up_to(frames[name], day) for name, day in EXPECTED}
    print("\n" + "\n".join(f"{n:12s} {d}  {r.value}" for (n, d), r in read.items()))
    assert read == EXPECTED
    # with the spectral flag off (the default run) the crashes read CRISIS
    for name, day in (("m6_etfs", "2020-03-16"), ("factor_etfs", "2022-06-16")):
        assert _read_up_to(frames[name], day, spectral=False) is Regime.CRISIS
    assert _read_up_to(frames["btc"], "2021-05-24", spectral=False) is Regime.CRISIS
