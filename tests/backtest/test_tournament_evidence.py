"""The tournament summary's evidence: PSR/DSR and trials, annualisation, caps, plausibility."""

from __future__ import annotations

import numpy as np
import pytest
from test_tournament import market_returns, run, tiny_settings

from clusterfolio.backtest.significance import probabilistic_sharpe_ratio
from clusterfolio.backtest.tournament import TournamentResult


@pytest.fixture(scope="module")
def lucky() -> TournamentResult:
    """A universe that beats the market every day: Sharpe ratios far above the market's."""
    frame = market_returns()
    assets = [c for c in frame.columns if c != "AMEX:SPY"]
    frame[assets] = frame[assets] + 0.004
    return run(tiny_settings(), frame)


def test_psr_dsr_and_trials(lucky: TournamentResult) -> None:
    summary = lucky.summary
    trials = summary["settings"]["trials"]
    realized = [r for r in summary["rows"] if r["simulator"] == "realized" and r["metrics"]]
    assert trials["simulator"] == "realized"
    assert trials["requested"] == 2 * 4  # engines x profiles, applicable or not
    assert trials["n"] == len(realized)
    assert 1.0 <= trials["n_eff"] <= trials["n"]
    assert trials["n_eff"] == pytest.approx(
        trials["avg_correlation"] + (1 - trials["avg_correlation"]) * trials["n"]
    )
    for r in summary["rows"]:
        if not r["metrics"]:
            continue
        key = f"{r['engine']}|{r['profile']}|{r['simulator']}"
        metrics = r["metrics"]
        assert metrics["psr"] == pytest.approx(probabilistic_sharpe_ratio(lucky.returns[key]))
        assert 0.0 <= metrics["dsr"] <= metrics["psr"] <= 1.0


def test_annualisation_and_caps(lucky: TournamentResult) -> None:
    summary = lucky.summary
    assert summary["annualisation"] == {
        "periods_per_year": 252,
        "source": "calendars",
        "convention": "252 sessions per year (exchange calendar)",
        "short_sample_sessions": 252,
    }
    assert summary["settings"]["caps"] == {"asset_cap": 0.5, "cluster_cap": 1.0}


def test_plausibility_flags_the_lucky_profiles(lucky: TournamentResult) -> None:
    doc = lucky.summary["plausibility"]
    market = doc["market_sharpe"]["realized"]
    flagged = {(f["engine"], f["profile"], f["simulator"]) for f in doc["flags"]}
    for r in lucky.summary["rows"]:
        if not r["metrics"]:
            continue
        sharpe = r["metrics"]["sharpe"]
        suspicious = sharpe - doc["market_sharpe"][r["simulator"]] > 1.5 or sharpe > 3
        assert ((r["engine"], r["profile"], r["simulator"]) in flagged) == suspicious
    assert ("custom", "equal_weight", "realized") in flagged
    flag = next(f for f in doc["flags"] if f["profile"] == "equal_weight")
    assert flag["sharpe"] - market > 1.5
    assert flag["top_window"]["window"] in {w.index for w in lucky.windows}
    assert np.isfinite(flag["top_window"]["log_growth"])
