"""Proof that a window's decision cannot see the future: rewrite it and compare bytes.

A window is decided from :meth:`MarketHistory.until` its training end (screens, raw pool,
natural selection, then regime, clusters and weights). The future is rewritten four ways at once
(prices scrambled, prices shifted, listings delisted, new listings added) and every part of the
decision must stay byte-identical. The same rewrite changes the as-of winners, so the labelled
``as_of_winners`` mode fails the same proof.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import make_engine
from clusterfolio.backtest.executors import LocalExecutor, RayExecutor
from clusterfolio.backtest.history import MarketHistory, computable_screens
from clusterfolio.backtest.tournament import (
    DecideTask,
    TournamentResult,
    UniverseTask,
    run_decide_task,
    run_tournament,
    run_universe_task,
    write_tournament_artifacts,
)
from clusterfolio.backtest.universe import choose_universe
from clusterfolio.data.returns import returns_between
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.discovery.screens import load_screens
from clusterfolio.enums import EngineName, ProfileName, SimulatorName, UniverseMode
from clusterfolio.manifest import Settings

AS_OF = date(2024, 6, 28)
CUT = pd.Timestamp("2024-03-28")
NEW = "NASDAQ:NEWCO"


def _settings() -> Settings:
    settings = Settings()
    synthetic = settings.data.synthetic
    synthetic.n_equities, synthetic.n_etfs = 66, 24
    synthetic.n_crypto_coins, synthetic.n_forex = 8, 8
    settings.backtest.train = 126
    settings.backtest.universe = UniverseMode.POINT_IN_TIME
    return settings


@pytest.fixture(scope="module")
def settings() -> Settings:
    return _settings()


@pytest.fixture(scope="module")
def history(settings: Settings, repo_root: Path) -> MarketHistory:
    provider = SyntheticProvider(settings.data.synthetic, as_of=AS_OF)
    listings = {listing.symbol: listing for listing in provider.listings()}
    start = AS_OF - timedelta(days=700)
    candles = {s: provider.candles(s, start, AS_OF) for s in sorted(listings)}
    candles = {s: c.reset_index(drop=True) for s, c in candles.items() if not c.empty}
    screens = load_screens(repo_root / settings.discovery.scanners_dir)
    kept, notes = computable_screens(screens, candles, listings)
    assert len(kept) == len(screens) and not notes  # every local screen is computable
    return MarketHistory(candles, {s: listings[s] for s in candles}, tuple(kept), tuple(notes))


@pytest.fixture(scope="module")
def future(history: MarketHistory) -> MarketHistory:
    """The history with its future rewritten (:func:`_rewrite_future`)."""
    return _rewrite_future(history)


def _rewrite_future(history: MarketHistory, seed: int = 11) -> MarketHistory:
    """Scramble, shift and delist after :data:`CUT`, and add a listing that starts after it."""
    rng = np.random.default_rng(seed)
    candles: dict[str, pd.DataFrame] = {}
    symbols = history.symbols
    delisted = set(symbols[::7])
    for i, symbol in enumerate(symbols):
        frame = history.candles[symbol].copy()
        after = (frame["session"] > CUT).to_numpy()
        if symbol in delisted:
            frame = frame.loc[~after]
        elif after.any():
            factor = rng.lognormal(0.0, 0.2, after.sum()) * (1.5 if i % 2 else 0.6)
            for column in ("open", "high", "low", "close"):
                frame.loc[after, column] = frame.loc[after, column].to_numpy() * factor
            frame.loc[after, "volume"] = frame.loc[after, "volume"].to_numpy() * 3.0
        candles[symbol] = frame.reset_index(drop=True)
    listings = dict(history.listings)
    template = next(s for s in symbols if s.startswith("NASDAQ:"))
    rocket = history.candles[template].copy()
    rocket = rocket.loc[rocket["session"] > CUT].reset_index(drop=True)
    growth = np.cumprod(np.full(len(rocket), 1.05))
    for column in ("open", "high", "low", "close"):
        rocket[column] = rocket[column].to_numpy() * growth
    rocket["volume"] = rocket["volume"].to_numpy() * 100.0
    candles[NEW] = rocket
    listings[NEW] = dataclasses.replace(listings[template], symbol=NEW, description="New Co")
    return MarketHistory(candles, listings, history.screens, history.notes)


def _matrix(history: MarketHistory) -> pd.DataFrame:
    return returns_between(
        history.candles,
        history.listings,
        history.symbols,
        start=AS_OF - timedelta(days=700),
        end=AS_OF,
    )


def _decide(
    history: MarketHistory, settings: Settings, *, as_of_winners: bool = False
) -> tuple[DecisionInputs, pd.Series]:
    """The window ending at :data:`CUT`, decided as the tournament does, and its HRP weights."""
    matrix = _matrix(history)
    train = matrix.loc[:CUT].iloc[-settings.backtest.train :]
    if as_of_winners:
        winners = choose_universe(history, pd.Timestamp(AS_OF), settings)
        columns = [*winners.symbols, settings.backtest.baseline]
        task = DecideTask(0, train.loc[:, columns], dict(winners.directions), None, settings)
    else:
        chosen = run_universe_task(UniverseTask(0, history.until(CUT), CUT, settings))
        assert chosen.value is not None, chosen.error
        columns = [*chosen.value.symbols, settings.backtest.baseline]
        task = DecideTask(0, train.loc[:, columns], {}, chosen.value, settings)
    outcome = run_decide_task(task)
    assert outcome.value is not None, outcome.error
    decision = outcome.value
    engine = make_engine(EngineName.CUSTOM, settings)
    weights = engine.weights(decision.synthetic_long(train), decision, ProfileName.HRP)
    assert weights is not None
    return decision, weights


def _fingerprint(decision: DecisionInputs, weights: pd.Series) -> bytes:
    doc = {
        **decision.to_dict(),
        "directions": {s: str(d) for s, d in sorted(decision.directions.items())},
        "clusters": dict(sorted(decision.clusters.items())),
        "weights": {str(k): float(v).hex() for k, v in weights.sort_index().items()},
    }
    return json.dumps(doc, sort_keys=True).encode()


def test_rewriting_the_future_changes_nothing_in_the_window(
    history: MarketHistory, future: MarketHistory, settings: Settings
) -> None:
    before = _decide(history, settings)
    after = _decide(future, settings)
    assert _fingerprint(*before) == _fingerprint(*after)
    decision = before[0]
    assert decision.data_until is not None
    assert pd.Timestamp(decision.data_until) <= CUT
    assert decision.symbols and decision.selection is not None
    assert decision.selection["listings"] < len(history.symbols) + 1


def test_as_of_winners_fails_the_same_proof(
    history: MarketHistory, future: MarketHistory, settings: Settings
) -> None:
    before = _decide(history, settings, as_of_winners=True)
    after = _decide(future, settings, as_of_winners=True)
    assert _fingerprint(*before) != _fingerprint(*after)
    assert before[0].symbols != after[0].symbols or dict(before[0].directions) != dict(
        after[0].directions
    )


def test_a_listing_that_starts_after_the_cut_never_appears(
    future: MarketHistory, settings: Settings
) -> None:
    known = future.until(CUT)
    assert NEW not in known.candles and NEW not in known.listings
    assert all(frame["session"].iloc[-1] <= CUT for frame in known.candles.values())
    choice = choose_universe(future, CUT, settings)
    assert NEW not in choice.symbols
    assert choice.data_until <= CUT
    later = choose_universe(future, pd.Timestamp(AS_OF), settings)
    assert later.summary["listings"] == choice.summary["listings"] + 1  # NEWCO, delisted kept


def test_the_point_in_time_universe_differs_from_the_as_of_winners(
    history: MarketHistory, settings: Settings
) -> None:
    at_cut = choose_universe(history, CUT, settings)
    at_as_of = choose_universe(history, pd.Timestamp(AS_OF), settings)
    assert set(at_cut.symbols) != set(at_as_of.symbols)
    assert at_cut.data_until <= CUT < at_as_of.data_until


def _small_tournament(settings: Settings) -> Settings:
    small = settings.model_copy(deep=True)
    small.backtest.realized_target = 40
    small.backtest.reselect_every = 1
    small.tournament.engines = [EngineName.CUSTOM, EngineName.MARKET]
    small.tournament.profiles = [ProfileName.HRP, ProfileName.EQUAL_WEIGHT, ProfileName.MARKET]
    small.tournament.simulators = [SimulatorName.IDEALIZED, SimulatorName.REALIZED]
    return small


def _artifacts(result: TournamentResult, folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    return {n: (folder / n).read_bytes() for n in write_tournament_artifacts(result, folder)}


@pytest.mark.slow
def test_local_workers_and_ray_re_select_identically(
    history: MarketHistory, settings: Settings, tmp_path: Path
) -> None:
    small = _small_tournament(settings)
    matrix = _matrix(history)
    with LocalExecutor(1) as inline:
        one = run_tournament(matrix, small, history=history, executor=inline)
    with LocalExecutor(2) as pool:
        two = run_tournament(matrix, small, history=history, executor=pool)
    with RayExecutor(num_cpus=2) as ray:
        three = run_tournament(matrix, small, history=history, executor=ray)
    expected = _artifacts(one, tmp_path / "one")
    assert _artifacts(two, tmp_path / "two") == expected
    assert _artifacts(three, tmp_path / "three") == expected
    windows = one.summary["windows"]
    assert len(windows) >= 2 and all(w["status"] == "ok" for w in windows)
    universes = [tuple(sorted(w["decision"]["symbols"])) for w in windows]
    assert len(set(universes)) > 1  # re-chosen: the universe moves across windows
    for window in windows:
        assert window["decision"]["data_until"] <= window["train_end"]


def test_a_screen_that_needs_a_remote_only_column_is_skipped_and_recorded(
    history: MarketHistory,
) -> None:
    screen = history.screens[0]
    request = screen.request.model_copy(
        update={"columns": [*screen.request.columns, "price_earnings_ttm"]}
    )
    remote_only = screen.model_copy(update={"name": "pe_screen", "request": request})
    kept, notes = computable_screens(
        [remote_only, *history.screens[1:3]], history.candles, history.listings
    )
    assert [s.name for s in kept] == [s.name for s in history.screens[1:3]]
    assert len(notes) == 1
    assert "pe_screen skipped for history" in notes[0] and "price_earnings_ttm" in notes[0]
