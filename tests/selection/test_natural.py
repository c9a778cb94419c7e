"""Natural selection on constructed pools with a known factor structure."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd
import pytest
from selection_market import BASELINE, Market

from clusterfolio.errors import DataError, SchemaError
from clusterfolio.io import parquet_bytes
from clusterfolio.manifest import SelectionSettings
from clusterfolio.risk.antifragility import antifragility_table
from clusterfolio.selection.execution import EXECUTION_COMPONENTS
from clusterfolio.selection.natural import (
    CANDIDATE_COLUMNS,
    SelectionFate,
    SelectionResult,
    natural_selection,
    synthetic_long,
)


def _select(
    market: Market,
    settings: SelectionSettings | None = None,
    *,
    xs_momentum: bool = False,
    screener: bool = True,
) -> SelectionResult:
    return natural_selection(
        market.pool,
        market.returns,
        market.screener if screener else None,
        settings=settings or SelectionSettings(),
        xs_momentum=xs_momentum,
        baseline=BASELINE,
    )


def _row(result: SelectionResult, symbol: str) -> pd.Series:
    frame = result.candidates.set_index("symbol")
    return cast(pd.Series, frame.loc[symbol])


def test_factor_blocks_are_the_clusters(three_blocks: Market) -> None:
    result = _select(three_blocks)
    cand = result.candidates.set_index("symbol")
    groups = {
        "eq": [f"NASDAQ:EQ{i}" for i in range(5)] + [BASELINE],
        "crypto": [f"BINANCE:C{i}USDT" for i in range(4)],
        "bond": [f"AMEX:B{i}" for i in range(3)],
    }
    ids = {name: set(cand.loc[members, "cluster"].astype(int)) for name, members in groups.items()}
    assert all(len(v) == 1 for v in ids.values()), ids
    assert len(set().union(*ids.values())) == 3
    assert result.summary["clusters"] == 3
    assert list(result.clusters["size"]) == sorted(
        result.clusters["size"].tolist(), key=lambda _: 0
    )
    assert set(result.clusters["size"]) == {6, 4, 3}
    assert (result.clusters["mean_correlation"] > 0.9).all()


def test_top_n_per_cluster_and_direction(market_factory: Callable[..., Market]) -> None:
    # one factor: five LONG candidates and four SHORT candidates whose raw returns are the
    # negated factor, so their synthetic-long series sit in the same cluster
    longs = [(f"NYSE:L{i}", "LONG") for i in range(5)]
    shorts = [(f"NYSE:S{i}", "SHORT") for i in range(4)]
    market = market_factory([longs + shorts], baseline_block=None)
    result = _select(market, SelectionSettings(top_n=2))
    cand = result.candidates
    assert cand.loc[~cand["baseline"], "cluster"].nunique() == 1
    chosen = cand[cand["fate"] == "selected"]
    assert chosen["direction"].value_counts().to_dict() == {"LONG": 2, "SHORT": 2}
    assert set(chosen["rank"]) == {1, 2}
    below = cand[cand["fate"] == "below_top_n"]
    assert len(below) == 5
    for reason in below["reason"]:
        assert "beyond top_n=2" in reason and "kept:" in reason
    # ranks follow the execution score within each direction
    for _, group in cand[cand["rank"].notna()].groupby("direction"):
        ordered = group.sort_values("rank")
        assert ordered["execution_score"].is_monotonic_decreasing


def test_short_candidates_are_negated_exactly_once(market_factory: Callable[..., Market]) -> None:
    market = market_factory([[("NYSE:A", "LONG"), ("NYSE:B", "SHORT")]], n_rows=40)
    result = _select(market)
    raw_b = market.returns["NYSE:B"]
    expected = float(np.prod(1.0 - raw_b.to_numpy()) - 1.0)
    assert _row(result, "NYSE:B")["total_return"] == pytest.approx(expected, rel=1e-12)
    # the synthetic long of B tracks A: same cluster, positive window return
    assert _row(result, "NYSE:B")["cluster"] == _row(result, "NYSE:A")["cluster"]
    assert expected > 0
    ref = antifragility_table((-raw_b).to_frame("NYSE:B"))
    afx = cast(pd.Series, result.antifragility.loc["NYSE:B"])
    assert afx["direction"] == "SHORT"
    assert afx["skew"] == pytest.approx(float(ref["skew"]["NYSE:B"]), rel=1e-12)
    assert afx["n_obs"] == 40
    synth = synthetic_long(market.returns, pd.Series({"NYSE:A": "LONG", "NYSE:B": "SHORT"}))
    np.testing.assert_array_equal(synth["NYSE:B"].to_numpy(), -raw_b.to_numpy())


def test_one_listing_per_identity(three_blocks: Market) -> None:
    pool = three_blocks.pool.copy()
    twin = pool[pool["symbol"] == "NASDAQ:EQ0"].copy()
    twin["symbol"] = "BATS:EQ0"
    twin["score"] = float(pool.loc[pool["symbol"] == "NASDAQ:EQ0", "score"].iloc[0]) - 1.0
    pool = pd.concat([pool, twin], ignore_index=True)
    returns = three_blocks.returns.assign(**{"BATS:EQ0": three_blocks.returns["NASDAQ:EQ0"]})
    market = Market(pool=pool, returns=returns, screener=three_blocks.screener)
    result = _select(market)
    dup = _row(result, "BATS:EQ0")
    assert dup["fate"] == "duplicate_identity"
    assert "already represented by NASDAQ:EQ0" in dup["reason"]
    assert pd.isna(dup["cluster"])
    kept = result.candidates[result.candidates["selected"]]
    keys = list(zip(kept["asset_class"], kept["identity"], strict=True))
    assert len(keys) == len(set(keys))


def test_baseline_is_always_carried_and_never_counted(three_blocks: Market) -> None:
    result = _select(three_blocks, SelectionSettings(top_n=1))
    base = _row(result, BASELINE)
    assert base["fate"] == "baseline" and base["baseline"] and base["selected"]
    assert pd.isna(base["rank"])
    assert result.winners[-1]["symbol"] == BASELINE and result.winners[-1]["baseline"]
    # the equity cluster (with SPY in it) still gets its own winner
    cid = base["cluster"]
    members = result.candidates[(result.candidates["cluster"] == cid)]
    assert (members["fate"] == "selected").sum() == 1
    assert sum(w["baseline"] for w in result.winners) == 1


def test_baseline_in_the_pool_is_taken_out_of_competition(three_blocks: Market) -> None:
    row = {
        "symbol": BASELINE,
        "identity": "SPY",
        "asset_class": "etf",
        "direction": "SHORT",
        "score": 9.0,
        "value_traded": 1e10,
        "kind": "etf",
        "exchange": "AMEX",
    }
    pool = pd.concat([three_blocks.pool, pd.DataFrame([row])], ignore_index=True)
    result = _select(Market(pool, three_blocks.returns, three_blocks.screener))
    base = _row(result, BASELINE)
    assert base["fate"] == "baseline"
    assert base["direction"] == "LONG"
    assert "SHORT candidate on it is not traded" in base["reason"]
    assert (result.candidates["symbol"] == BASELINE).sum() == 1


def test_baseline_without_returns_is_still_carried(market_factory: Callable[..., Market]) -> None:
    market = market_factory([[("NYSE:A", "LONG"), ("NYSE:B", "LONG")]], baseline_block=None)
    result = _select(market)
    base = _row(result, BASELINE)
    assert base["fate"] == "baseline" and base["n_obs"] == 0
    assert pd.isna(base["cluster"])
    assert "not clustered" in base["reason"]
    assert BASELINE in result.selected_symbols


def test_momentum_gate_rejects_with_the_reason(market_factory: Callable[..., Market]) -> None:
    market = market_factory([[("NYSE:A", "LONG"), ("NYSE:B", "LONG"), ("NYSE:C", "SHORT")]])
    returns = market.returns.copy()
    returns["NYSE:B"] = -0.02  # about -70% over 60 sessions
    returns["NYSE:C"] = 0.02  # raw +228%: the synthetic long (short) loses about 70%
    result = _select(Market(market.pool, returns, market.screener))
    for symbol in ("NYSE:B", "NYSE:C"):
        row = _row(result, symbol)
        assert row["fate"] == "momentum_gate"
        assert "below the momentum gate -50.0%" in row["reason"]
        assert pd.notna(row["cluster"]) and pd.isna(row["execution_score"])
    assert "synthetic-long" in _row(result, "NYSE:C")["reason"]
    assert _row(result, "NYSE:A")["fate"] == "selected"
    # a looser gate lets them through
    loose = _select(
        Market(market.pool, returns, market.screener), SelectionSettings(momentum_gate=-0.9)
    )
    assert _row(loose, "NYSE:B")["fate"] == "selected"


def test_history_filter(three_blocks: Market) -> None:
    returns = three_blocks.returns.copy()
    returns.loc[returns.index[:50], "NASDAQ:EQ1"] = np.nan
    returns = returns.drop(columns=["AMEX:B2"])
    result = _select(Market(three_blocks.pool, returns, three_blocks.screener))
    short = _row(result, "NASDAQ:EQ1")
    assert short["fate"] == "insufficient_history"
    assert "10 return observations, fewer than min_overlap=20" in short["reason"]
    absent = _row(result, "AMEX:B2")
    assert absent["fate"] == "insufficient_history" and absent["n_obs"] == 0
    assert "no returns" in absent["reason"]


def test_pairs_below_min_overlap_take_the_neutral_correlation(
    market_factory: Callable[..., Market],
) -> None:
    market = market_factory(
        [[("NYSE:A", "LONG"), ("NYSE:B", "LONG")], [("NYSE:C", "LONG")]], n_rows=60
    )
    returns = market.returns.copy()
    returns.loc[returns.index[:35], "NYSE:A"] = np.nan  # A: last 25 sessions
    returns.loc[returns.index[25:], "NYSE:C"] = np.nan  # C: first 25 sessions
    result = _select(Market(market.pool, returns, market.screener))
    assert result.summary["neutral_pairs"] == 1  # A and C share no session
    clustered = [d for d in result.decisions if d["action"] == "clustered"]
    assert "1 pairs below min_overlap=20" in clustered[0]["reason"]


def test_global_cap_keeps_cluster_leaders_first(market_factory: Callable[..., Market]) -> None:
    market = market_factory(
        [
            [("NYSE:A0", "LONG"), ("NYSE:A1", "LONG"), ("NYSE:A2", "LONG")],
            [("NYSE:B0", "LONG")],
            [("NYSE:C0", "LONG")],
        ],
        baseline_block=None,
    )
    result = _select(market, SelectionSettings(top_n=3, max_winners=3))
    cand = result.candidates
    chosen = cand[cand["fate"] == "selected"]
    assert len(chosen) == 3 and set(chosen["rank"]) == {1}
    capped = cand[cand["fate"] == "global_cap"]
    assert set(capped["rank"]) == {2, 3}
    assert all("max_winners=3" in r for r in capped["reason"])
    assert any(d["action"] == "global_cap" for d in result.decisions)
    assert len(result.winners) == 4  # three plus the baseline, never capped


def test_xs_momentum_switches_the_normalisation(three_blocks: Market) -> None:
    pool = three_blocks.pool.copy()
    extra = pool.iloc[[0]].assign(symbol="NYSE:LONER", identity="LONER")
    pool = pd.concat([pool, extra], ignore_index=True)
    rng = np.random.default_rng(5)
    returns = three_blocks.returns.assign(**{"NYSE:LONER": rng.normal(0.001, 0.02, 60)})
    market = Market(pool, returns, three_blocks.screener)
    within = _select(market, xs_momentum=False)
    glob = _select(market, xs_momentum=True)
    loner_w, loner_g = _row(within, "NYSE:LONER"), _row(glob, "NYSE:LONER")
    assert loner_w["cluster_size"] == 1
    # within-cluster z-scores: a singleton is neutral; the cluster means are zero
    assert loner_w["execution_score"] == 0.0
    scored = within.candidates[within.candidates["execution_score"].notna()]
    means = scored.groupby("cluster")[list(EXECUTION_COMPONENTS)].mean()
    np.testing.assert_allclose(means.to_numpy(), 0.0, atol=1e-12)
    # global percentile ranks: every component lies in (-0.5, 0.5), the singleton is ranked
    comps = glob.candidates.loc[
        glob.candidates["execution_score"].notna(), list(EXECUTION_COMPONENTS)
    ]
    assert ((comps > -0.5) & (comps < 0.5)).all().all()
    assert loner_g["execution_score"] != 0.0
    assert glob.summary["settings"]["xs_momentum"] is True
    assert not np.allclose(
        within.candidates["execution_score"].fillna(0), glob.candidates["execution_score"].fillna(0)
    )
    # the global score is the xs score in both modes
    g1 = within.candidates.set_index("symbol")["global_score"]
    g2 = glob.candidates.set_index("symbol")["execution_score"]
    pd.testing.assert_series_equal(g1, g2.reindex(g1.index), check_names=False)


def test_missing_screener_falls_back_on_the_pool_value_traded(three_blocks: Market) -> None:
    result = _select(three_blocks, screener=False)
    scored = result.candidates[result.candidates["execution_score"].notna()]
    assert scored["liquidity"].abs().sum() > 0  # value_traded from the pool still ranks
    # without the ATR signal the liquidity component is the value-traded z-score alone
    with_atr = _select(three_blocks)
    assert not np.allclose(
        with_atr.candidates["liquidity"].fillna(0), result.candidates["liquidity"].fillna(0)
    )


def test_deterministic_and_order_invariant(three_blocks: Market) -> None:
    first = _select(three_blocks)
    shuffled = Market(
        pool=three_blocks.pool.sample(frac=1.0, random_state=3).reset_index(drop=True),
        returns=three_blocks.returns.iloc[::-1, ::-1],
        screener=three_blocks.screener.iloc[::-1],
    )
    second = _select(shuffled)
    pd.testing.assert_frame_equal(first.candidates, second.candidates)
    assert first.winners == second.winners
    assert first.decisions == second.decisions
    assert parquet_bytes(first.candidates, index=False) == parquet_bytes(
        second.candidates, index=False
    )
    assert parquet_bytes(first.antifragility) == parquet_bytes(second.antifragility)


def test_every_candidate_has_one_fate_and_one_decision(three_blocks: Market) -> None:
    result = _select(three_blocks, SelectionSettings(top_n=2))
    cand = result.candidates
    assert list(cand.columns) == list(CANDIDATE_COLUMNS)
    assert cand["symbol"].is_unique
    assert set(cand["fate"]) <= {str(f) for f in SelectionFate}
    assert (cand["reason"].str.len() > 0).all()
    per_symbol = [d for d in result.decisions if d["subject"] in set(cand["symbol"])]
    assert sorted(d["subject"] for d in per_symbol) == sorted(cand["symbol"])
    for d in per_symbol:
        row = _row(result, d["subject"])
        assert d["action"] == row["fate"] and d["reason"] == row["reason"]
    assert [w["symbol"] for w in result.winners] == result.selected_symbols
    assert set(result.selected_symbols) == set(cand.loc[cand["selected"], "symbol"])
    assert result.fate_of("NASDAQ:EQ0") in {SelectionFate.SELECTED, SelectionFate.BELOW_TOP_N}
    with pytest.raises(KeyError):
        result.fate_of("NOPE:X")


def test_bad_inputs_are_named(three_blocks: Market) -> None:
    with pytest.raises(SchemaError, match="identity"):
        natural_selection(
            three_blocks.pool.drop(columns=["identity"]),
            three_blocks.returns,
            None,
            settings=SelectionSettings(),
            xs_momentum=False,
            baseline=BASELINE,
        )
    bad = three_blocks.pool.assign(direction="SIDEWAYS")
    with pytest.raises(SchemaError, match="SIDEWAYS"):
        natural_selection(
            bad, three_blocks.returns, None, settings=SelectionSettings(), xs_momentum=False,
            baseline=BASELINE,
        )  # fmt: skip
    doubled = pd.concat([three_blocks.pool, three_blocks.pool.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="more than once"):
        natural_selection(
            doubled, three_blocks.returns, None, settings=SelectionSettings(), xs_momentum=False,
            baseline=BASELINE,
        )  # fmt: skip


def test_empty_pool_carries_only_the_baseline(three_blocks: Market) -> None:
    empty = three_blocks.pool.iloc[0:0]
    result = natural_selection(
        empty, three_blocks.returns, None, settings=SelectionSettings(), xs_momentum=False,
        baseline=BASELINE,
    )  # fmt: skip
    assert result.selected_symbols == [BASELINE]
    assert result.summary["clusters"] == 1


def test_global_cap_keeps_the_best_leader_of_every_asset_class() -> None:
    """The cap removes depth and then cluster leaders, but never a whole asset class."""
    from clusterfolio.selection.natural import _apply_cap

    cand = pd.DataFrame(
        {
            "rank": [1, 1, 1, 2, 1],
            "global_score": [0.9, 0.8, 0.7, 0.95, -0.5],
            "symbol": ["NYSE:A", "NYSE:B", "NYSE:C", "NYSE:D", "BINANCE:BTCUSDT"],
            "asset_class": ["equity", "equity", "equity", "equity", "crypto"],
        }
    )
    capped = _apply_cap(cand, pd.Series(True, index=cand.index), 2)
    kept = set(cand.loc[~capped, "symbol"])
    assert kept == {"NYSE:A", "BINANCE:BTCUSDT"}
