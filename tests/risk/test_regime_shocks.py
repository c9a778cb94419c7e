"""The regime on real shocks of ``../shared/data``, read with the data up to each day.

Labels read (calibrated defaults, spectral flag on), see the closing note of issue 12: the M6
ETFs read CRISIS from 2020-03-09 through April 2020; the 2022 drawdown of the factor ETFs reads
CRISIS in May-June 2022 and TURBULENT in October; BTC alone (a 24/7 universe folded onto
business days) rises from NORMAL to TURBULENT after the May 2021 crash and from QUIET to NORMAL
after the November 2022 one: a coin's shock is measured against its own, high, typical level.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clusterfolio.enums import Regime
from clusterfolio.manifest import Settings
from clusterfolio.risk.regime import detect_regime, market_proxy

SETTINGS = Settings().risk.regime
STRESSED = (Regime.TURBULENT, Regime.CRISIS)


def _factor_etfs(root: Path) -> pd.DataFrame:
    frame = pd.read_csv(root / "etfs" / "skfolio" / "factors_dataset.csv.gz", parse_dates=["Date"])
    prices = frame.set_index("Date").sort_index()
    return prices.pct_change(fill_method=None).iloc[1:].rename(columns=lambda c: f"AMEX:{c}")


def _btc(root: Path) -> pd.DataFrame:
    bars = pd.read_parquet(root / "crypto" / "tradingview" / "BINANCE_BTCUSDT_1d.parquet")
    index = pd.to_datetime(bars["timestamp"], unit="s").dt.normalize()
    close = pd.Series(bars["close"].to_numpy(), index=index).sort_index()
    return pd.DataFrame({"BINANCE:BTCUSDT": close.pct_change().iloc[1:]})


def _read(proxy: pd.Series, day: str) -> tuple[Regime, float]:
    result = detect_regime(proxy.loc[:day], SETTINGS, spectral=True)
    return result.label, result.score


@pytest.mark.realdata
def test_the_2022_drawdown_reads_stressed(shared_data: Path) -> None:
    proxy = market_proxy(_factor_etfs(shared_data))
    assert _read(proxy, "2021-11-15")[0] is Regime.QUIET
    assert _read(proxy, "2022-06-16")[0] is Regime.CRISIS
    assert _read(proxy, "2022-10-13")[0] in STRESSED


@pytest.mark.realdata
def test_crypto_crashes_raise_the_score_on_the_business_day_calendar(shared_data: Path) -> None:
    proxy = market_proxy(_btc(shared_data))
    assert (proxy.index.dayofweek < 5).all()
    before, after = _read(proxy, "2021-04-10"), _read(proxy, "2021-05-24")
    assert after[0] in STRESSED and after[1] > before[1] + 0.1
    before, after = _read(proxy, "2022-11-01"), _read(proxy, "2022-11-14")
    assert after[1] > before[1] + 0.2
