"""Agreement of the regime detector with the synthetic market's recorded regime path.

The proxy (:func:`market_proxy`: inverse-volatility weights capped at 2/n) is built from the
simple returns of the market's first 60 equities on their NYSE sessions (as of 2026-11-20, default synthetic settings but the seed); the detector runs
with the calibrated settings (``CALIBRATED_WEIGHTS`` and ``CALIBRATED_THRESHOLDS``, the values
recommended as the manifest defaults) and its labels are compared with
``SyntheticProvider.regime_path()`` on the labelled sessions (April 2019 on). Run with ``-s`` to
see the confusion matrices.

Measured (60 equities, ``spectral=True``; balanced accuracy = mean per-regime recall, chance 0.25):

=====  ========  =====  ==================  ==============================
seed   balanced  QUIET  CRISIS as CRISIS    CRISIS as CRISIS
                 read   or TURBULENT        (``spectral=False``)
=====  ========  =====  ==================  ==============================
7      0.543     0.38   1.00                1.00
1      0.458     0.46   0.96                0.77
2      0.593     0.79   0.77                0.68
=====  ========  =====  ==================  ==============================

The former detector (60-session relative score, former manifest defaults) scored 0.27, 0.25 and
0.29. Seed 7 opens with a year of QUIET: with no calmer-than-typical reference yet, it reads
NORMAL (the cold start of ``vol_level``), hence its low QUIET recall. Floors asserted, with
margin: balanced accuracy 0.43 with ``spectral=True`` and 0.44 without (where TURBULENT cannot be
read, so 0.75 is the maximum), QUIET recall 0.35, CRISIS read CRISIS or TURBULENT 0.7, CRISIS read
CRISIS 0.6 without the spectral flag. About a second per seed (each market is simulated once).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.enums import AssetClass, Regime
from clusterfolio.manifest import RegimeSettings, Settings
from clusterfolio.risk.regime import (
    CALIBRATED_THRESHOLDS,
    CALIBRATED_WEIGHTS,
    confusion_matrix,
    detect_regime,
    market_proxy,
    regime_series,
)

AS_OF = date(2026, 11, 20)
N_EQUITIES = 60
SETTINGS = RegimeSettings(weights=dict(CALIBRATED_WEIGHTS), **CALIBRATED_THRESHOLDS)

BALANCED_FLOOR = {True: 0.43, False: 0.44}
QUIET_FLOOR = 0.35
CRISIS_STRESSED_FLOOR = 0.7
CRISIS_FOLDED_FLOOR = 0.6


@lru_cache(maxsize=4)
def _market(seed: int) -> tuple[pd.Series, pd.Series]:
    """The equity proxy and the recorded regime path of the synthetic market of ``seed``."""
    settings = Settings()
    settings.data.synthetic.seed = seed
    provider = SyntheticProvider(settings.data.synthetic, as_of=AS_OF)
    equities = [x.symbol for x in provider.listings() if x.asset_class is AssetClass.EQUITY]
    closes = {}
    for symbol in equities[:N_EQUITIES]:
        candles = provider.candles(symbol, date(2019, 1, 1), AS_OF)
        candles = candles.drop_duplicates("session", keep="last")  # injected duplicated rows
        closes[symbol] = pd.Series(candles["close"].to_numpy(), index=candles["session"])
    returns = pd.DataFrame(closes).sort_index().pct_change(fill_method=None).iloc[1:]
    return market_proxy(returns), provider.regime_path()


def _recall(table: pd.DataFrame) -> pd.Series:
    counts = table.to_numpy()
    return pd.Series(np.diag(counts) / counts.sum(axis=1), index=table.index)


@pytest.mark.parametrize("seed", [7, 1, 2])
@pytest.mark.parametrize("spectral", [True, False])
def test_agreement_with_the_recorded_regime_path(seed: int, spectral: bool) -> None:
    proxy, truth = _market(seed)
    series = regime_series(proxy, SETTINGS, spectral=spectral)
    table = confusion_matrix(series["label"], truth)
    recall = _recall(table)
    balanced = float(recall.mean())
    print(f"\nseed {seed}, spectral={spectral}: balanced accuracy {balanced:.3f}")
    print(table.to_string())
    assert table.to_numpy().sum() == len(series)
    assert balanced >= BALANCED_FLOOR[spectral]
    assert recall[Regime.QUIET.value] >= QUIET_FLOOR
    crisis = table.loc[Regime.CRISIS.value]
    if spectral:
        stressed = crisis[Regime.CRISIS.value] + crisis[Regime.TURBULENT.value]
        assert stressed / crisis.sum() >= CRISIS_STRESSED_FLOOR
    else:
        assert (table[Regime.TURBULENT.value] == 0).all()
        assert crisis[Regime.CRISIS.value] / crisis.sum() >= CRISIS_FOLDED_FLOOR
    # the read at the as-of date alone agrees with the series (point in time)
    now = detect_regime(proxy, SETTINGS, spectral=spectral)
    assert now.label.value == series["label"].iloc[-1]
