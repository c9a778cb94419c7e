"""The validation tournament: layout, point in time, directions, metrics, determinism, failures."""

from __future__ import annotations

import itertools
import math
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.decision import decide
from clusterfolio.backtest.executors import LocalExecutor, RayExecutor
from clusterfolio.backtest.metrics import summary_metrics
from clusterfolio.backtest.tournament import (
    TournamentResult,
    run_tournament,
    write_tournament_artifacts,
)
from clusterfolio.backtest.tournament_types import (
    RESULT_COLUMNS,
    SENSITIVITY_BPS,
    TournamentStatus,
    series_key,
)
from clusterfolio.enums import (
    Direction,
    EngineName,
    ExecutorName,
    ProfileName,
    SimulatorName,
    UniverseMode,
)
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import Settings

SPY = "AMEX:SPY"
FAST_PROFILES = [
    ProfileName.MIN_VARIANCE,
    ProfileName.HRP,
    ProfileName.EQUAL_WEIGHT,
    ProfileName.MARKET,
]


def market_returns(n_obs: int = 160, n_assets: int = 6, seed: int = 0) -> pd.DataFrame:
    """Two-factor daily returns of ``n_assets`` NASDAQ symbols plus SPY, with closed days."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(n_obs, 2))
    loadings = np.zeros((2, n_assets))
    loadings[0, : n_assets // 2] = 1.0
    loadings[1, n_assets // 2 :] = 1.0
    idio = rng.normal(scale=0.006, size=(n_obs, n_assets))
    values = factors @ loadings + idio + 0.0004
    symbols = [f"NASDAQ:A{i:02d}" for i in range(n_assets)]
    frame = pd.DataFrame(values, index=pd.bdate_range("2024-01-02", periods=n_obs), columns=symbols)
    frame.index.name = "session"
    frame[SPY] = 0.6 * factors.sum(axis=1) + rng.normal(scale=0.003, size=n_obs) + 0.0003
    frame.iloc[[95, 125], :] = np.nan  # market holidays: nothing traded
    frame.iloc[[100, 131], 0] = np.nan  # one asset closed
    return frame


def tiny_settings(**engines_profiles: Any) -> Settings:
    """Small windows (train 80, test 20, 2 windows) and a small regime window."""
    settings = Settings()
    settings.backtest.train = 80
    settings.backtest.test = 20
    settings.backtest.step = 20
    settings.backtest.realized_target = 40
    settings.backtest.universe = UniverseMode.AS_OF_WINNERS  # the mechanics on a given matrix
    settings.risk.regime.window = 20
    settings.risk.regime.baseline = 40
    settings.risk.lookbacks = [40, 80]
    settings.risk.asset_cap = 0.5
    settings.risk.cluster_cap = 1.0
    settings.selection.min_overlap = 10
    settings.data.light_lookback_days = 30
    settings.tournament.engines = engines_profiles.get(
        "engines", [EngineName.CUSTOM, EngineName.MARKET]
    )
    settings.tournament.profiles = engines_profiles.get("profiles", FAST_PROFILES)
    settings.tournament.simulators = engines_profiles.get(
        "simulators", [SimulatorName.IDEALIZED, SimulatorName.REALIZED]
    )
    settings.tournament.n_jobs = 1
    return settings


def run(settings: Settings, returns: pd.DataFrame | None = None, **kwargs: Any) -> TournamentResult:
    frame = market_returns() if returns is None else returns
    return run_tournament(frame, settings, executor=LocalExecutor(1), **kwargs)


def artifacts(result: TournamentResult, folder: Path) -> dict[str, bytes]:
    names = write_tournament_artifacts(result, folder)
    return {name: (folder / name).read_bytes() for name in names}


@pytest.fixture(scope="module")
def base() -> TournamentResult:
    """Custom and market engines, four profiles, idealized and realized."""
    return run(tiny_settings())


def test_the_artifacts_take_the_shared_names_and_encoding(
    base: TournamentResult, tmp_path: Path
) -> None:
    """The file names are :mod:`clusterfolio.artifacts.tournament`'s, the JSON its encoding's."""
    from clusterfolio.artifacts import tournament as names
    from clusterfolio.artifacts.encoding import dumps, jsonable

    written = write_tournament_artifacts(base, tmp_path)
    assert written[:4] == [
        names.TOURNAMENT_RESULTS,
        names.TOURNAMENT_SUMMARY,
        names.TOURNAMENT_RETURNS,
        names.TOURNAMENT_WEIGHTS,
    ]
    assert jsonable(base.summary) == base.summary  # encoded once: no NaN, numpy or enum left
    assert (tmp_path / names.TOURNAMENT_SUMMARY).read_text(encoding="utf-8") == dumps(base.summary)


def test_artifact_layout(base: TournamentResult, tmp_path: Path) -> None:
    results = base.results
    assert tuple(results.columns) == RESULT_COLUMNS
    assert len(base.windows) == 2
    assert len(results) == 2 * len(FAST_PROFILES) * 2 * 2  # engines x profiles x sims x windows
    assert results["window"].dtype == np.int64
    assert str(results["test_start"].dtype) == "datetime64[ns]"
    summary = base.summary
    for key in ("baseline", "periods_per_year", "windows", "capabilities", "rows", "decay"):
        assert key in summary
    assert "timing" not in summary  # run-dependent: ledger counts only
    assert summary["baseline"] == {
        "symbol": SPY,
        "engine": "market",
        "profile": "market",
        "present": True,
    }
    assert summary["periods_per_year"] == 252  # NASDAQ and AMEX: one exchange calendar
    assert summary["simulator_scope"] == {"cvxportfolio": ["custom", "market"]}  # cost bound
    row = next(r for r in summary["rows"] if r["engine"] == "custom" and r["status"] == "ok")
    assert set(row["metrics"]) >= {
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "turnover",
        "costs",
        "win_rate",
    }
    for entry in summary["decay"]:
        assert entry["decay"] == pytest.approx(entry["idealized_cagr"] - entry["realized_cagr"])
        assert entry["decay"] > 0  # frictions cost something
    written = artifacts(base, tmp_path)
    assert set(written) == {
        "tournament_results.parquet",
        "tournament_summary.json",
        "tournament_returns.parquet",
        "tournament_weights.parquet",
    }
    returns = pd.read_parquet(tmp_path / "tournament_returns.parquet")
    assert returns.index.name == "session"
    ok_keys = {
        f"{r['engine']}|{r['profile']}|{r['simulator']}"
        for r in summary["rows"]
        if r["status"] == "ok"
    }
    assert set(returns.columns) == ok_keys


def test_not_applicable_is_never_filled(base: TournamentResult) -> None:
    rows = base.results
    na = rows[(rows["engine"] == "market") & (rows["profile"] != "market")]
    assert (na["status"] == TournamentStatus.NOT_APPLICABLE.value).all()
    assert na["period_return"].isna().all()
    assert na["error"].str.contains("does not implement").all()
    assert base.summary["capabilities"]["market"] == ["market"]
    assert not any(c.startswith("market|hrp") for c in base.returns.columns)


def test_market_engine_equals_spy(base: TournamentResult) -> None:
    raw = market_returns()[SPY]
    ideal = base.returns[series_key(EngineName.MARKET, ProfileName.MARKET, SimulatorName.IDEALIZED)]
    expected = raw.reindex(ideal.index).fillna(0.0)  # a holiday: SPY did not move
    np.testing.assert_allclose(ideal.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-15)
    realized = base.returns[
        series_key(EngineName.MARKET, ProfileName.MARKET, SimulatorName.REALIZED)
    ]
    cost = CostModel(0.0005, 0.0001).per_unit
    first = ideal.index[0]
    # the cost is paid from cash at the rebalance: V = (1 + r) - cost
    assert realized[first] == pytest.approx(raw[first] - cost, abs=1e-15)
    # later the book carries -cost of cash: returns stay within cost x |r| of SPY's
    np.testing.assert_allclose(
        realized.iloc[1:].to_numpy(), ideal.iloc[1:].to_numpy(), rtol=2 * cost
    )
    custom = base.returns[
        series_key(EngineName.CUSTOM, ProfileName.MARKET, SimulatorName.IDEALIZED)
    ]
    np.testing.assert_allclose(custom.to_numpy(), ideal.to_numpy(), atol=1e-15)


def test_metrics_agree_with_backtest_metrics(base: TournamentResult) -> None:
    periods = base.summary["periods_per_year"]
    results = base.results
    for row in base.summary["rows"]:
        if row["status"] != "ok":
            continue
        key = f"{row['engine']}|{row['profile']}|{row['simulator']}"
        series = base.returns[key].dropna()
        mine = summary_metrics(series, periods=periods)
        for name in ("cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown"):
            assert row["metrics"][name] == pytest.approx(mine[name], rel=1e-12, abs=1e-15), name
        own = results[
            (results["engine"] == row["engine"])
            & (results["profile"] == row["profile"])
            & (results["simulator"] == row["simulator"])
        ]
        assert row["metrics"]["win_rate"] == pytest.approx(float((own["period_return"] > 0).mean()))
        assert row["metrics"]["costs"] == pytest.approx(float(own["costs"].sum()), abs=1e-15)
        assert row["metrics"]["turnover"] == pytest.approx(
            float(own["turnover"].sum()) * periods / len(series)
        )
        compounded = [
            float(np.prod(1 + series.loc[r.test_start : r.test_end]) - 1) for r in own.itertuples()
        ]
        np.testing.assert_allclose(own["period_return"].to_numpy(), compounded, atol=1e-12)


def test_point_in_time(base: TournamentResult) -> None:
    original = market_returns()
    first = base.windows[0]
    changed = original.copy()
    rng = np.random.default_rng(99)
    after = changed.index > first.train_end
    changed.loc[after] = changed.loc[after] * 3 + rng.normal(
        scale=0.02, size=changed.loc[after].shape
    )
    again = run(tiny_settings(), changed)
    assert again.decisions[0] is not None and base.decisions[0] is not None
    assert again.decisions[0].to_dict() == base.decisions[0].to_dict()
    for engine, profile in [(EngineName.CUSTOM, p) for p in FAST_PROFILES] + [
        (EngineName.MARKET, ProfileName.MARKET)
    ]:
        before = base.weights_of(engine, profile, 0)
        now = again.weights_of(engine, profile, 0)
        assert before is not None and now is not None
        pd.testing.assert_series_equal(before, now, check_exact=True)
    later_before = base.weights_of(EngineName.CUSTOM, ProfileName.MIN_VARIANCE, 1)
    later_now = again.weights_of(EngineName.CUSTOM, ProfileName.MIN_VARIANCE, 1)
    assert later_before is not None and later_now is not None
    assert not np.allclose(later_before.to_numpy(), later_now.to_numpy())  # the change mattered


def test_decide_reads_only_its_slice() -> None:
    frame = market_returns()
    settings = tiny_settings()
    train = frame.iloc[:80]
    one = decide(train, None, settings)
    two = decide(frame.iloc[:80].copy(), None, settings)
    assert one.to_dict() == two.to_dict()
    assert one.train_end == frame.index[79]
    assert SPY not in one.symbols
    assert dict(one.clusters).keys() == set(one.symbols)


def test_short_position_loses_when_its_asset_rises() -> None:
    rng = np.random.default_rng(4)
    n = 160
    index = pd.bdate_range("2024-01-02", periods=n)
    frame = pd.DataFrame(
        {
            "NASDAQ:UP": 0.01 + rng.normal(scale=0.001, size=n),  # rises every day
            "NASDAQ:FLAT": rng.normal(scale=0.002, size=n),
            SPY: rng.normal(0.0003, 0.01, size=n),
        },
        index=index,
    )
    settings = tiny_settings(profiles=[ProfileName.EQUAL_WEIGHT], engines=[EngineName.CUSTOM])
    settings.risk.asset_cap = 1.0
    result = run(
        settings,
        frame,
        directions={"NASDAQ:UP": Direction.SHORT, "NASDAQ:FLAT": Direction.LONG},
    )
    weights = result.weights
    up = weights[weights["symbol"] == "NASDAQ:UP"]
    assert (up["net"] < 0).all() and np.allclose(up["net"], -up["gross"])
    for simulator in ("idealized", "realized"):
        rows = result.results[result.results["simulator"] == simulator]
        assert (rows["status"] == "ok").all()
        assert (rows["period_return"] < 0).all()  # the short leg loses about 0.5% a day
    decision = result.decisions[0]
    assert decision is not None and decision.directions["NASDAQ:UP"] is Direction.SHORT


def test_failures_are_recorded_and_the_tournament_goes_on() -> None:
    frame = market_returns()
    symbols = [c for c in frame.columns if c != SPY]
    # window 0 trains on rows 40..119: 5 observations left, below min_overlap; window 1 has 25
    frame.loc[frame.index[:115], symbols] = np.nan
    settings = tiny_settings()
    result = run(settings, frame)
    assert result.decisions[0] is None and result.decisions[1] is not None
    assert result.summary["windows"][0]["status"] == "failed"
    assert "no eligible symbol" in result.summary["windows"][0]["error"]
    rows = result.results
    custom = rows[(rows["engine"] == "custom") & (rows["profile"] == "hrp")]
    assert set(custom.loc[custom["window"] == 0, "status"]) == {"failed"}
    assert set(custom.loc[custom["window"] == 1, "status"]) == {"ok"}
    summary = next(
        r
        for r in result.summary["rows"]
        if r["engine"] == "custom" and r["profile"] == "hrp" and r["simulator"] == "realized"
    )
    assert summary["status"] == TournamentStatus.PARTIAL.value
    assert summary["metrics"]["n_periods"] == 20  # the failed window is not simulated
    assert "1 of 2 windows failed" in summary["error"]


def test_slippage_decay_audit() -> None:
    settings = tiny_settings(profiles=[ProfileName.HRP, ProfileName.MARKET])
    settings.features.feat_decay_audit = True
    result = run(settings)
    audit = result.slippage_decay
    assert audit is not None
    assert audit["sensitivity_bps"] == list(SENSITIVITY_BPS)
    assert audit["fit"]["n"] == len(audit["rows"]) == 3
    for row in audit["rows"]:
        levels = {s["slippage_bps"]: s for s in row["sensitivity"]}
        assert levels[5.0]["cagr"] == pytest.approx(row["realized_cagr"], rel=1e-12)
        cagrs = [levels[b]["cagr"] for b in SENSITIVITY_BPS]
        assert all(a > b for a, b in itertools.pairwise(cagrs))
        assert row["decay"] == pytest.approx(row["idealized_cagr"] - row["realized_cagr"])


def test_cvxportfolio_simulator_agrees_and_can_be_bounded() -> None:
    settings = tiny_settings(
        profiles=[ProfileName.HRP, ProfileName.MARKET],
        simulators=list(SimulatorName),
    )
    result = run(settings, cvxportfolio_engines=[EngineName.MARKET])
    rows = result.results
    assert set(
        rows.loc[(rows["engine"] == "custom") & (rows["simulator"] == "cvxportfolio"), "status"]
    ) == {"skipped"}
    market = rows[(rows["engine"] == "market") & (rows["profile"] == "market")]
    assert set(market["status"]) == {"ok"}
    realized = market[market["simulator"] == "realized"]["period_return"].to_numpy()
    reference = market[market["simulator"] == "cvxportfolio"]["period_return"].to_numpy()
    np.testing.assert_allclose(realized, reference, atol=1e-12)
    assert result.summary["simulator_scope"] == {"cvxportfolio": ["market"]}
    entry = next(d for d in result.summary["decay"] if d["engine"] == "market")
    assert entry["realized_vs_cvxportfolio_max_abs_diff"] < 1e-12


def test_point_in_time_without_history_is_a_config_error() -> None:
    settings = tiny_settings()
    settings.backtest.universe = UniverseMode.POINT_IN_TIME
    with pytest.raises(ConfigError, match=r"point_in_time needs the market history"):
        run(settings)


class _ShuffledExecutor:
    """Runs tasks in this process in a scrambled order, each through a pickle round trip."""

    name = ExecutorName.LOCAL

    def share(self, value: Any) -> Any:
        return value

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> list[Any]:
        order = list(range(len(tasks)))[::-1]
        out: dict[int, Any] = {}
        for k in order:
            task = pickle.loads(pickle.dumps(tasks[k]))  # what crosses a process boundary
            out[k] = pickle.loads(pickle.dumps(fn(task)))
        return [out[k] for k in range(len(tasks))]

    def shutdown(self) -> None:
        return None


def test_results_do_not_depend_on_task_order(base: TournamentResult, tmp_path: Path) -> None:
    shuffled = run_tournament(market_returns(), tiny_settings(), executor=_ShuffledExecutor())
    assert artifacts(shuffled, tmp_path / "shuffled") == artifacts(base, tmp_path / "base")


def test_same_artifacts_with_one_or_two_workers(tmp_path: Path) -> None:
    # profiles without cvxpy keep the spawned workers' start-up short
    settings = tiny_settings(
        profiles=[ProfileName.HRP, ProfileName.EQUAL_WEIGHT, ProfileName.MARKET]
    )
    one = run(settings)
    with LocalExecutor(2) as executor:
        two = run_tournament(market_returns(), settings, executor=executor)
    one_files = artifacts(one, tmp_path / "one")
    two_files = artifacts(two, tmp_path / "two")
    assert one_files == two_files


@pytest.mark.slow
def test_ray_matches_local(base: TournamentResult, tmp_path: Path) -> None:
    with RayExecutor(num_cpus=2) as executor:
        ray_result = run_tournament(market_returns(), tiny_settings(), executor=executor)
    assert artifacts(ray_result, tmp_path / "ray") == artifacts(base, tmp_path / "local")


def test_summary_json_has_no_nan(base: TournamentResult) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, float):
            assert math.isfinite(value)

    walk(base.summary)


def test_turnover_penalty_counts_a_direction_flip_as_a_trade(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The previous book is signed: a symbol held LONG and now SHORT is a trade of 2x."""
    from clusterfolio.backtest.engines import make_engine
    from clusterfolio.optimize.problem import OptimizationProblem

    seen: list[dict[str, float]] = []
    original = OptimizationProblem.from_settings

    def spy(*args: Any, **kwargs: Any) -> OptimizationProblem:
        seen.append(dict(kwargs.get("previous_weights") or {}))
        return original(*args, **kwargs)

    monkeypatch.setattr(OptimizationProblem, "from_settings", spy)
    settings = tiny_settings(profiles=[ProfileName.MIN_VARIANCE])
    settings.features.feat_turnover_penalty = True
    frame = market_returns().iloc[:80]
    decision = decide(frame, {"NASDAQ:A01": Direction.SHORT}, settings)
    engine = make_engine(EngineName.CUSTOM, settings)
    train = decision.synthetic_long(frame)
    for held in (-0.3, 0.3):  # held SHORT (kept), then held LONG (flipped)
        previous = pd.Series({s: 0.0 for s in decision.symbols} | {"NASDAQ:A01": held})
        assert (
            engine.weights(train, decision, ProfileName.MIN_VARIANCE, previous=previous) is not None
        )
    assert [book["NASDAQ:A01"] for book in seen] == [0.3, -0.3]


def test_turnover_penalty_sees_the_signed_previous_book() -> None:
    """With the penalty a SHORT held across windows is kept (the signed book), turnover drops."""
    directions = {"NASDAQ:A01": Direction.SHORT}
    plain = tiny_settings(profiles=[ProfileName.MIN_VARIANCE])
    plain.backtest.realized_target = 60
    penalised = plain.model_copy(deep=True)
    penalised.features.feat_turnover_penalty = True
    penalised.backtest.slippage = 0.02  # a strong penalty: the book barely moves
    one = run(plain, directions=directions)
    two = run(penalised, directions=directions)

    def turnover(result: TournamentResult) -> float:
        rows = result.results
        mask = (rows["engine"] == "custom") & (rows["simulator"] == "realized")
        return float(rows.loc[mask, "turnover"].iloc[1:].sum())  # after the first rebalance

    assert turnover(two) < turnover(one)
    held = two.weights[
        (two.weights["engine"] == "custom") & (two.weights["symbol"] == "NASDAQ:A01")
    ]
    assert not held.empty and (held["net"] < 0).all()


def test_a_symbol_with_an_exact_zero_weight_is_simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded allocators can give a symbol exactly 0: the simulators must still run."""
    from clusterfolio.backtest import tournament_engines as tournament_module

    real = tournament_module.make_engine

    class ZeroFirst:
        def __init__(self, engine: Any) -> None:
            self.engine = engine

        def weights(self, *args: Any, **kwargs: Any) -> pd.Series | None:
            gross = self.engine.weights(*args, **kwargs)
            if gross is None or len(gross) < 2:
                return gross
            first = gross.index[0]
            out = gross.copy()
            out[out.index[1]] += out[first]
            out[first] = 0.0
            return out

    monkeypatch.setattr(
        tournament_module, "make_engine", lambda name, settings: ZeroFirst(real(name, settings))
    )
    result = run(tiny_settings(profiles=[ProfileName.EQUAL_WEIGHT]))
    statuses = {(r["engine"], r["simulator"]): r["status"] for r in result.summary["rows"]}
    assert statuses[("custom", "realized")] == "ok", result.summary["rows"]
