"""PSR and DSR: golden values computed by hand from the formulas, invariants, peers."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.backtest.significance import (
    annotate_significance,
    average_correlation,
    deflated_sharpe_ratio,
    effective_trials,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_per_period,
)
from clusterfolio.errors import DataError

EULER_GAMMA = 0.5772156649015329
NORMAL = NormalDist()


def fat_tailed(n: int = 300, seed: int = 1, drift: float = 0.0008) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(x) for x in rng.standard_t(5, size=n) * 0.01 + drift]


def psr_by_hand(r: list[float], benchmark: float = 0.0) -> float:
    """Bailey and López de Prado (2012), with plain Python sums."""
    n = len(r)
    mean = sum(r) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / (n - 1))
    sr = mean / std
    m2 = sum((x - mean) ** 2 for x in r) / n
    g3 = sum((x - mean) ** 3 for x in r) / n / m2**1.5
    g4 = sum((x - mean) ** 4 for x in r) / n / m2**2
    z = (sr - benchmark) * math.sqrt(n - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return NORMAL.cdf(z)


def emax_by_hand(n: float, variance: float) -> float:
    """Bailey and López de Prado (2014), expected maximum Sharpe of n null trials."""
    return math.sqrt(variance) * (
        (1 - EULER_GAMMA) * NORMAL.inv_cdf(1 - 1 / n)
        + EULER_GAMMA * NORMAL.inv_cdf(1 - 1 / (n * math.e))
    )


def test_psr_golden() -> None:
    r = fat_tailed()
    assert probabilistic_sharpe_ratio(r) == pytest.approx(psr_by_hand(r), rel=1e-12)
    assert probabilistic_sharpe_ratio(r, 0.05) == pytest.approx(psr_by_hand(r, 0.05), rel=1e-12)
    assert probabilistic_sharpe_ratio(pd.Series([*r, math.nan])) == pytest.approx(
        psr_by_hand(r), rel=1e-12
    )  # NaN ignored


def test_expected_max_and_dsr_golden() -> None:
    assert expected_max_sharpe(42, 0.01) == pytest.approx(emax_by_hand(42, 0.01), rel=1e-12)
    assert expected_max_sharpe(7.5, 0.002) == pytest.approx(emax_by_hand(7.5, 0.002), rel=1e-12)
    assert expected_max_sharpe(1, 0.01) == 0.0
    assert expected_max_sharpe(1.2, 0.01) == 0.0  # floored: the formula dips below 0 there
    assert emax_by_hand(1.2, 0.01) < 0
    r = fat_tailed()
    assert deflated_sharpe_ratio(r, 42, 0.01) == pytest.approx(
        psr_by_hand(r, emax_by_hand(42, 0.01)), rel=1e-12
    )


def test_trials_golden_through_the_summary() -> None:
    """Three trials: rho, N_eff, variance of the Sharpes, SR_0, PSR and DSR all by hand."""
    base = fat_tailed(250, seed=3)
    other = fat_tailed(250, seed=4)
    index = pd.bdate_range("2024-01-01", periods=250)
    trials = {
        "custom|hrp|realized": [b for b in base],
        "custom|min_variance|realized": [
            0.7 * b + 0.3 * o for b, o in zip(base, other, strict=True)
        ],
        "skfolio|hrp|realized": [o for o in other],
    }
    series = {k: pd.Series(v, index=index) for k, v in trials.items()}
    rows: list[dict[str, Any]] = [
        {
            "engine": k.split("|")[0],
            "profile": k.split("|")[1],
            "simulator": "realized",
            "metrics": {"sharpe": 1.0},
        }
        for k in trials
    ]
    rows.append({"engine": "x", "profile": "y", "simulator": "realized", "metrics": None})
    doc = annotate_significance(rows, series, ranking="realized", requested=9, periods=252)
    corr = np.corrcoef(np.array(list(trials.values())))
    rho = (corr[0, 1] + corr[0, 2] + corr[1, 2]) / 3
    n_eff = rho + (1 - rho) * 3
    sharpes = [sum(v) / len(v) / float(np.std(v, ddof=1)) for v in trials.values()]
    mean_sr = sum(sharpes) / 3
    variance = sum((s - mean_sr) ** 2 for s in sharpes) / 2
    sr0 = emax_by_hand(n_eff, variance)
    assert doc["n"] == 3 and doc["requested"] == 9 and doc["simulator"] == "realized"
    assert doc["avg_correlation"] == pytest.approx(rho, rel=1e-12)
    assert doc["n_eff"] == pytest.approx(n_eff, rel=1e-12)
    assert doc["sharpe_variance"] == pytest.approx(variance, rel=1e-12)
    assert doc["expected_max_sharpe"] == pytest.approx(sr0, rel=1e-10)
    assert doc["expected_max_sharpe_annual"] == pytest.approx(sr0 * math.sqrt(252), rel=1e-10)
    for row, values in zip(rows[:3], trials.values(), strict=True):
        assert row["metrics"]["psr"] == pytest.approx(psr_by_hand(values), rel=1e-12)
        assert row["metrics"]["dsr"] == pytest.approx(psr_by_hand(values, sr0), rel=1e-10)
        assert row["metrics"]["dsr"] <= row["metrics"]["psr"]
    assert rows[-1]["metrics"] is None  # a row without metrics is left alone


def test_effective_trials() -> None:
    assert effective_trials(42, 0.0) == 42
    assert effective_trials(42, 1.0) == 1
    assert effective_trials(42, 0.5) == pytest.approx(21.5)
    assert effective_trials(42, -0.3) == 42  # clipped: never more trials than tried
    assert effective_trials(42, math.nan) == 42
    assert math.isnan(average_correlation({"a": pd.Series([0.1, 0.2, 0.3])}))
    same = pd.Series([0.01, -0.02, 0.03, 0.0])
    assert average_correlation({"a": same, "b": same * 2}) == pytest.approx(1.0)


def test_degenerate_and_bad_input() -> None:
    assert math.isnan(probabilistic_sharpe_ratio([0.01, 0.02]))
    assert math.isnan(probabilistic_sharpe_ratio([0.01] * 10))
    assert math.isnan(sharpe_per_period([0.01]))
    assert math.isnan(sharpe_per_period([0.1] * 7))  # constant: no dispersion, no Sharpe
    assert math.isnan(probabilistic_sharpe_ratio([0.1] * 7))
    with pytest.raises(DataError, match="infinite"):
        probabilistic_sharpe_ratio([0.01, math.inf, 0.0])
    with pytest.raises(DataError, match="n_trials"):
        expected_max_sharpe(0.5, 0.01)
    with pytest.raises(DataError, match="sharpe_variance"):
        expected_max_sharpe(3, -1.0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shifts=st.tuples(st.floats(-0.004, 0.004), st.floats(0.0001, 0.004)),
    n=st.floats(1.0, 500.0),
    dn=st.floats(0.5, 100.0),
    variance=st.floats(1e-6, 0.05),
)
def test_invariants(
    seed: int, shifts: tuple[float, float], n: float, dn: float, variance: float
) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, 250)
    low, step = shifts
    # a shift of the mean leaves the std, skewness and kurtosis alone: PSR grows with Sharpe
    assert probabilistic_sharpe_ratio(r + low + step) >= probabilistic_sharpe_ratio(r + low)
    psr = probabilistic_sharpe_ratio(r + low)
    dsr = deflated_sharpe_ratio(r + low, n, variance)
    assert dsr <= psr  # deflating against the best of N trials never helps
    assert deflated_sharpe_ratio(r + low, n + dn, variance) <= dsr  # more trials, less credit
    assert 0.0 <= dsr <= 1.0


def test_peers_agree() -> None:
    """skfolio's PSR, expected maximum and DSR (independent trials) to 1e-12; QuantStats' PSR
    to 1e-4.

    QuantStats takes pandas' bias-corrected skewness and kurtosis where the formula (and
    skfolio) take the population moments: about 1.5e-6 apart on 300 fat-tailed returns.
    """
    import quantstats.stats as qs
    from skfolio.measures import deflated_sharpe_ratio as skfolio_dsr
    from skfolio.measures import expected_max_sharpe_ratio
    from skfolio.measures import probabilistic_sharpe_ratio as skfolio_psr

    r = fat_tailed()
    for benchmark in (0.0, 0.03, -0.02):
        assert probabilistic_sharpe_ratio(r, benchmark) == pytest.approx(
            float(skfolio_psr(np.array(r), benchmark_sharpe_ratio=benchmark)), rel=1e-12
        )
    for n in (2.0, 7.5, 42.0, 1000.0):
        assert expected_max_sharpe(n, 0.01) == pytest.approx(
            float(expected_max_sharpe_ratio(n, 0.1)), rel=1e-12
        )
    trial_sharpes = np.array([0.02, 0.05, -0.01, 0.04, 0.03])
    variance = float(np.var(trial_sharpes, ddof=1))
    ours = deflated_sharpe_ratio(r, effective_trials(5, 0.0), variance)
    assert ours == pytest.approx(float(skfolio_dsr(np.array(r), trial_sharpes)), rel=1e-12)
    assert probabilistic_sharpe_ratio(r) == pytest.approx(
        float(qs.probabilistic_sharpe_ratio(pd.Series(r))), abs=1e-4
    )


@pytest.mark.realdata
def test_m6_etfs_best_of_many(shared_data: Path) -> None:
    """The US-listed M6 ETFs (2017-04 .. 2022-04) as buy-and-hold trials: the best Sharpe is
    deflated by the others, by hand and as skfolio does (independent trials) to 1e-10.

    Measured: 40 ETFs, average correlation 0.420, N_eff 23.6; the best, XLK (daily Sharpe
    0.0630, about 1.0 annualised, 1,256 sessions), has PSR 0.986 and DSR 0.878 (0.854 when the
    40 trials are counted as independent, skfolio's convention).
    """
    from skfolio.measures import deflated_sharpe_ratio as skfolio_dsr

    folder = shared_data / "etfs" / "m6_universe"
    universe = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    etfs = [s for s, c in zip(universe["symbol"], universe["class"], strict=True) if c == "ETF"]
    series = {}
    for symbol in etfs:
        path = folder / f"{symbol}.csv.gz"
        if symbol.endswith(".L") or not path.exists():
            continue
        raw = pd.read_csv(path, parse_dates=["Date"]).drop_duplicates("Date", keep="last")
        close = raw.set_index("Date")["Adjusted_close"].astype(float).sort_index()
        series[symbol] = close.pct_change().iloc[1:]
    frame = pd.DataFrame(series).sort_index()
    sharpes = {k: sharpe_per_period(v) for k, v in frame.items()}
    best = max(sharpes, key=lambda k: sharpes[k])
    n = len(sharpes)
    rho = average_correlation(frame)
    n_eff = effective_trials(n, rho)
    variance = float(np.var(list(sharpes.values()), ddof=1))
    returns = frame[best].dropna().tolist()
    dsr = deflated_sharpe_ratio(returns, n_eff, variance)
    assert dsr == pytest.approx(psr_by_hand(returns, emax_by_hand(n_eff, variance)), rel=1e-10)
    assert probabilistic_sharpe_ratio(returns) == pytest.approx(psr_by_hand(returns), rel=1e-12)
    independent = deflated_sharpe_ratio(returns, n, variance)
    peer = float(skfolio_dsr(np.array(returns), np.array(list(sharpes.values()))))
    assert independent == pytest.approx(peer, rel=1e-10)
    assert 0.3 < rho < 0.8 and 1 < n_eff < n
    assert independent <= dsr < probabilistic_sharpe_ratio(returns)
    print(
        f"M6 ETFs: {n} trials, rho {rho:.3f}, N_eff {n_eff:.1f}, best {best} "
        f"Sharpe/day {sharpes[best]:.4f}, PSR {probabilistic_sharpe_ratio(returns):.4f}, "
        f"DSR(N_eff) {dsr:.4f}, DSR(N) {independent:.4f}"
    )
