"""Tournament reports rendered from a real tiny tournament: PSR ranking, DSR, annualisation,
short samples, plausibility flags and the constraints each engine honoured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_build import tables_after

from clusterfolio.backtest.executors import LocalExecutor
from clusterfolio.backtest.tournament import run_tournament, write_tournament_artifacts
from clusterfolio.enums import EngineName, ProfileName, SimulatorName, UniverseMode
from clusterfolio.manifest import Settings
from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.engine_comparison import render_engine_comparison
from clusterfolio.report.slippage import render_slippage_decay
from clusterfolio.report.tournament import render_backtest_comparison

SPY = "AMEX:SPY"


def _returns(n: int = 140, seed: int = 7) -> pd.DataFrame:
    """Six NASDAQ names that drift well above SPY (so the guard has something to flag)."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0, 0.01, n)
    names = {f"NASDAQ:B{i}": 0.8 * market + rng.normal(0.004, 0.008, n) for i in range(6)}
    frame = pd.DataFrame(names, index=pd.bdate_range("2024-01-02", periods=n))
    frame[SPY] = market
    return frame


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings()
    settings.backtest.train, settings.backtest.test, settings.backtest.step = 80, 20, 20
    settings.backtest.realized_target = 60
    settings.backtest.universe = UniverseMode.AS_OF_WINNERS  # the reports on a given matrix
    settings.risk.regime.window, settings.risk.regime.baseline = 20, 40
    settings.risk.lookbacks = [40, 80]
    settings.risk.asset_cap, settings.risk.cluster_cap = 0.3, 0.6
    settings.selection.min_overlap = 10
    settings.tournament.engines = [EngineName.CUSTOM, EngineName.SKFOLIO, EngineName.MARKET]
    settings.tournament.profiles = [
        ProfileName.MIN_VARIANCE,
        ProfileName.HRP,
        ProfileName.EQUAL_WEIGHT,
        ProfileName.MARKET,
    ]
    settings.tournament.simulators = [SimulatorName.IDEALIZED, SimulatorName.REALIZED]
    settings.features.feat_decay_audit = True
    result = run_tournament(_returns(), settings, executor=LocalExecutor(1))
    folder = tmp_path_factory.mktemp("tournament")
    write_tournament_artifacts(result, folder)
    return folder


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "tournament_summary.json").read_text())


def _render(run_dir: Path, render) -> str:  # type: ignore[no-untyped-def]
    return render(RunArtifacts(run_dir), ReportConfig(as_of="2024-07-01"))


def test_strategy_resume_ranks_by_psr_with_dsr_beside_sharpe(run_dir: Path) -> None:
    summary = _summary(run_dir)
    text = _render(run_dir, render_backtest_comparison)
    table = tables_after(text, "## Realizable baseline")[0]
    rows = {
        r["profile"]: r["metrics"]
        for r in summary["rows"]
        if r["engine"] == "custom" and r["simulator"] == "realized"
    }
    shown = [r["Profile"].split(" ")[0] for r in table]
    assert shown == sorted(rows, key=lambda p: (-rows[p]["psr"], -rows[p]["sharpe"]))
    headers = list(table[0])
    assert headers.index("DSR") == headers.index("Sharpe") + 1
    for r in table:
        metrics = rows[r["Profile"].split(" ")[0]]
        assert float(r["DSR"]) == pytest.approx(round(metrics["dsr"], 3))
        assert float(r["PSR"]) == pytest.approx(round(metrics["psr"], 3))
        assert r["Profile"].endswith("†")  # 60 sessions: a short sample
    assert "Annualised with 252 sessions per year (exchange calendar)." in text
    assert "† Short sample: computed on 60 sessions (fewer than 252)" in text
    trials = summary["settings"]["trials"]
    section = text[text.index("## Multiple testing") :]
    assert f"N_eff = {trials['n_eff']:.2f} independent trials" in section


def test_plausibility_flag_names_the_window(run_dir: Path) -> None:
    summary = _summary(run_dir)
    flags = summary["plausibility"]["flags"]
    assert flags, "the lucky universe must trip the guard"
    text = _render(run_dir, render_backtest_comparison)
    section = text[text.index("## Plausibility guard") :]
    others = section[section.index("Also flagged with the other simulators") :].splitlines()[0]
    for flag in flags:
        label = f"{flag['engine']} · {flag['profile']} ({flag['simulator']})"
        if flag["simulator"] != "realized":
            assert label in others
            continue
        top = flag["top_window"]
        line = next(x for x in section.splitlines() if f"**{label}**" in x)
        assert f"Window {top['window']} ({top['test_start']} .. {top['test_end']})" in line
    custom = next(f for f in flags if f["engine"] == "custom" and f["simulator"] == "realized")
    table = tables_after(text, "## Realizable baseline")[0]
    row = next(r for r in table if r["Profile"].startswith(custom["profile"]))
    assert "⚠ suspicious" in row["Status"]


def test_engine_report_states_constraints_honoured(run_dir: Path) -> None:
    summary = _summary(run_dir)
    text = _render(run_dir, render_engine_comparison)
    table = {(r["Engine"], r["Profile"]): r for r in tables_after(text, "## Constraints")[0]}
    assert table[("custom", "min_variance")]["Asset cap"].startswith("✓ enforced (max ")
    hrp = table[("skfolio", "hrp")]  # skfolio's HRP takes no group constraint
    assert hrp["Cluster cap"].startswith(("not enforced", "✗ not enforced"))
    assert hrp["Asset cap"].startswith(("✓ enforced", "⚠ relaxed"))
    assert table[("market", "market")]["Asset cap"] == "— (baseline, one asset)"
    row = next(r for r in summary["rows"] if (r["engine"], r["profile"]) == ("skfolio", "hrp"))
    assert f"max {row['max_cluster_gross'] * 100:.1f}%" in hrp["Cluster cap"]
    assert all(
        r["Directions"] in {"✓ by the tournament", "long (baseline)"} for r in table.values()
    )
    ranked = tables_after(text, "## Profile: hrp")[0]
    assert {"DSR", "PSR"} <= set(ranked[0])
    assert "Annualised with 252 sessions per year (exchange calendar)." in text


def test_slippage_audit_states_annualisation(run_dir: Path) -> None:
    text = _render(run_dir, render_slippage_decay)
    assert text.count("Annualised with 252 sessions per year (exchange calendar).") == 2
    assert "Short sample" in text


def test_engine_report_counts_the_timeouts_per_engine(run_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    for item in run_dir.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    results = pd.read_parquet(folder / "tournament_results.parquet")
    stopped = (
        (results["engine"] == "skfolio")
        & (results["profile"] == "min_variance")
        & (results["window"] == 0)
    )
    results.loc[stopped, "status"] = "timeout"
    results.loc[stopped, "error"] = "FitTimeout: the fit exceeded its budget of 10 s"
    results.to_parquet(folder / "tournament_results.parquet", index=False)
    text = _render(folder, render_engine_comparison)
    table = tables_after(text, "## Peer fits within the time budget")[0]
    by_engine = {r["Engine"]: r for r in table}
    assert by_engine["skfolio"]["Timed out"] == "1"
    assert by_engine["skfolio"]["Profiles"] == "min_variance"
    assert by_engine["custom"]["Timed out"] == "0"
    assert "more than 10.0 s in a window is stopped" in text
