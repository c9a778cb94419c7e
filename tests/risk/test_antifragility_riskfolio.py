"""Historical VaR and CVaR against Riskfolio-Lib (a separate module: importing it is slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.risk.antifragility import antifragility_table, historical_cvar, historical_var

riskfolio_rf = pytest.importorskip("riskfolio.src.RiskFunctions")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 400), nan_share=st.floats(0, 0.5))
def test_var_cvar_match_riskfolio(seed: int, n_rows: int, nan_share: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_t(4, size=(n_rows, 3)) * 0.01
    x[rng.random(x.shape) < nan_share] = np.nan
    cvar = historical_cvar(x)
    var = historical_var(x)
    table = antifragility_table(pd.DataFrame(x, columns=["A", "B", "C"]))
    for j in range(3):
        col = x[:, j][~np.isnan(x[:, j])]
        if col.size == 0:
            assert np.isnan(cvar[j]) and np.isnan(var[j])
            continue
        assert cvar[j] == pytest.approx(riskfolio_rf.CVaR_Hist(col, 0.05), abs=1e-10)
        assert var[j] == pytest.approx(riskfolio_rf.VaR_Hist(col, 0.05), abs=1e-12)
        assert table.iloc[j]["cvar_95"] == cvar[j]


@pytest.mark.parametrize("n", [1, 19, 20, 21, 60, 100, 251, 500])
def test_cvar_tail_index_convention(n: int) -> None:
    """Sample sizes where ``0.05 * n`` is whole or just above: same order statistic."""
    x = np.random.default_rng(n).normal(0, 0.01, n)
    assert historical_cvar(x)[0] == pytest.approx(riskfolio_rf.CVaR_Hist(x, 0.05), abs=1e-10)
    assert historical_var(x)[0] == riskfolio_rf.VaR_Hist(x, 0.05)
