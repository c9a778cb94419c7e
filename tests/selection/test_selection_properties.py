"""Property tests of natural selection on random return matrices with NaN masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusterfolio.manifest import SelectionSettings
from clusterfolio.selection.natural import KEPT_FATES, SelectionFate, natural_selection

BASELINE = "AMEX:SPY"


@st.composite
def markets(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, SelectionSettings, bool]:
    n_assets = draw(st.integers(1, 14))
    n_rows = draw(st.integers(5, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    nan_share = draw(st.sampled_from([0.0, 0.05, 0.3, 0.6]))
    rng = np.random.default_rng(seed)
    n_factors = draw(st.integers(1, 3))
    factors = rng.normal(0.0, 0.02, size=(n_rows, n_factors))
    loadings = rng.normal(size=(n_factors, n_assets))
    values = factors @ loadings + rng.normal(0.0, 0.01, size=(n_rows, n_assets))
    values[rng.random(values.shape) < nan_share] = np.nan
    if draw(st.booleans()):
        values[:, 0] = np.nan  # an asset absent from the matrix
    symbols = [f"NYSE:S{i:02d}" for i in range(n_assets)]
    with_spy = draw(st.booleans())
    columns = symbols + ([BASELINE] if with_spy else [])
    if with_spy:
        values = np.column_stack([values, rng.normal(0.0, 0.01, n_rows)])
    returns = pd.DataFrame(values, columns=columns)
    shared = draw(st.booleans())  # two listings of one identity
    pool = pd.DataFrame(
        {
            "symbol": symbols,
            "identity": ["SHARED" if shared and i < 2 else f"S{i:02d}" for i in range(n_assets)],
            "asset_class": draw(st.sampled_from(["equity", "crypto"])),
            "direction": [draw(st.sampled_from(["LONG", "SHORT"])) for _ in range(n_assets)],
            "score": rng.normal(size=n_assets),
            "value_traded": np.exp(rng.normal(15.0, 2.0, n_assets)),
        }
    )
    sel = SelectionSettings(
        top_n=draw(st.integers(1, 3)),
        threshold=draw(st.floats(0.05, 2.0)),
        min_overlap=draw(st.integers(2, 25)),
        momentum_gate=draw(st.sampled_from([-0.5, -0.05, 0.0])),
        max_winners=draw(st.integers(2, 20)),
    )
    return pool, returns, sel, draw(st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_selection_invariants(
    case: tuple[pd.DataFrame, pd.DataFrame, SelectionSettings, bool],
) -> None:
    pool, returns, sel, xs = case
    result = natural_selection(pool, returns, None, settings=sel, xs_momentum=xs, baseline=BASELINE)
    cand = result.candidates
    # every candidate has exactly one fate, with a reason
    assert cand["symbol"].is_unique
    assert sorted(cand["symbol"]) == sorted([*pool["symbol"], BASELINE])
    assert cand["fate"].notna().all()
    assert set(cand["fate"]) <= {str(f) for f in SelectionFate}
    assert (cand["reason"].str.len() > 0).all()
    subjects = [d["subject"] for d in result.decisions if d["subject"] in set(cand["symbol"])]
    assert sorted(subjects) == sorted(cand["symbol"])
    # the bound: top_n x clusters x directions, plus the baseline
    n_clusters = int(result.summary["clusters"])
    n_directions = cand.loc[~cand["baseline"], "direction"].nunique()
    assert len(result.winners) <= sel.top_n * n_clusters * n_directions + 1
    assert len(result.winners) - 1 <= sel.max_winners
    # every winner has a reason; the baseline is carried exactly once
    assert all(w["reason"] for w in result.winners)
    assert [w["symbol"] for w in result.winners if w["baseline"]] == [BASELINE]
    kept = cand[cand["fate"].isin([str(f) for f in KEPT_FATES])]
    assert set(kept["symbol"]) == set(result.selected_symbols)
    # per (cluster, direction) at most top_n, one listing per identity
    chosen = cand[cand["fate"] == "selected"]
    assert (chosen.groupby(["cluster", "direction"]).size() <= sel.top_n).all()
    assert not chosen.duplicated(["asset_class", "identity"]).any()
    # gate and history filter hold
    assert (chosen["total_return"] >= sel.momentum_gate).all()
    assert (chosen["n_obs"] >= sel.min_overlap).all()
