"""Tests of the per-asset tail statistics and fragility scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clusterfolio.errors import DataError
from clusterfolio.risk.antifragility import (
    STAT_COLUMNS,
    antifragility_table,
    max_drawdown,
)


def _panel(seed: int, n_rows: int = 260) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        "CRASHY": np.where(rng.random(n_rows) < 0.03, -0.12, 0.004) + rng.normal(0, 0.006, n_rows),
        "CONVEX": np.where(rng.random(n_rows) < 0.03, 0.12, -0.002) + rng.normal(0, 0.006, n_rows),
        "NORMAL": rng.normal(0.0005, 0.01, n_rows),
        "FATTAIL": rng.standard_t(3, n_rows) * 0.008,
    }
    frame = pd.DataFrame(data)
    frame.loc[rng.random(n_rows) < 0.2, "NORMAL"] = np.nan  # a different calendar
    frame.iloc[:40, 3] = np.nan  # a late listing
    return frame


def test_table_matches_reference_formulas_per_column() -> None:
    frame = _panel(1)
    table = antifragility_table(frame)
    assert list(table.columns) == list(STAT_COLUMNS)
    for symbol in frame.columns:
        col = frame[symbol].dropna().to_numpy()
        row = table.loc[symbol]
        assert row["n_obs"] == col.size
        assert row["skew"] == pytest.approx(stats.skew(col, bias=False), abs=1e-12)
        k = int(np.ceil(0.05 * col.size))
        assert row["tail_gain"] == pytest.approx(np.sort(col)[-k:].mean(), abs=1e-14)
        k0 = int(np.ceil(0.05 * col.size)) - 1
        worst = np.sort(col)
        assert row["var_95"] == -worst[k0]
        cvar = -worst[k0] + (worst[: k0 + 1] - worst[k0]).sum() * -1 / (0.05 * col.size)
        assert row["cvar_95"] == pytest.approx(cvar, abs=1e-14)
        ratio = np.percentile(col, 95) / abs(np.percentile(col, 5))
        assert row["tail_ratio"] == pytest.approx(ratio, abs=1e-12)
        wealth = np.concatenate([[1.0], np.cumprod(1.0 + col)])
        mdd = (1.0 - wealth / np.maximum.accumulate(wealth)).max()
        assert row["max_drawdown"] == pytest.approx(mdd, abs=1e-14)
        assert row["tail_convexity"] == pytest.approx(row["tail_gain"] / row["cvar_95"])
    # NaN-aware: a column's statistics do not depend on its neighbours
    alone = antifragility_table(frame[["NORMAL"]])
    cols = ["n_obs", "skew", "tail_gain", "var_95", "cvar_95", "tail_ratio", "max_drawdown"]
    pd.testing.assert_frame_equal(alone.loc[["NORMAL"], cols], table.loc[["NORMAL"], cols])


def test_scores_rank_fragile_and_convex_assets() -> None:
    table = antifragility_table(_panel(2))
    assert table["fragility"].between(0, 1).all()
    assert table["antifragility"].between(0, 1).all()
    assert table["fragility"].idxmax() == "CRASHY"
    assert table["antifragility"].idxmax() == "CONVEX"
    assert float(table["skew"]["CONVEX"]) > 0 > float(table["skew"]["CRASHY"])
    assert table.loc["CRASHY", "fragility"] == pytest.approx(1.0)


def test_short_and_empty_columns() -> None:
    frame = pd.DataFrame(
        {"A": [0.01, -0.02, 0.03, 0.01], "B": [np.nan, 0.02, np.nan, np.nan], "C": np.nan}
    )
    table = antifragility_table(frame)
    assert table.loc["B", "n_obs"] == 1 and np.isnan(float(table["skew"]["B"]))
    assert table.loc["B", "cvar_95"] == pytest.approx(-0.02)
    assert table.loc["C", "n_obs"] == 0 and table.loc["C", list(STAT_COLUMNS[1:])].isna().all()
    assert table.loc["A", "fragility"] == 0.5  # the only asset with every input defined
    empty = antifragility_table(frame.iloc[:0])
    assert (empty["n_obs"] == 0).all()
    constant = antifragility_table(pd.DataFrame({"Z": [0.0] * 30}))
    assert np.isnan(float(constant["skew"]["Z"])) and constant.loc["Z", "max_drawdown"] == 0.0
    with pytest.raises(DataError):
        antifragility_table(pd.DataFrame({"A": [0.1, np.inf]}))


def test_max_drawdown_by_hand() -> None:
    r = np.array([0.1, -0.5, 0.2, np.nan, 1.0, -0.1])
    # wealth 1, 1.1, 0.55, 0.66, 0.66, 1.32, 1.188 -> worst 0.55 / 1.1
    assert max_drawdown(r)[0] == pytest.approx(0.5)
    assert max_drawdown(np.array([0.01, 0.02]))[0] == 0.0
