"""Every report of a sample run: the numbers shown equal the artifacts they come from."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.metrics import periods_per_year, summary_metrics
from clusterfolio.report import artifacts as A
from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.build import (
    ALWAYS_WRITTEN,
    ESSENTIAL,
    TEARSHEETS_DIR,
    ReportBuild,
    build_reports,
    golden_paths,
)
from clusterfolio.report.decisions import STEP_TITLES, is_fallback
from tests.fakes.sample_run import make_sample_run, sample_config


def tables_after(text: str, heading: str) -> list[list[dict[str, str]]]:
    """The Markdown tables of the section that starts with ``heading`` (up to the next ``## ``)."""
    start = text.index(heading)
    rest = text[start + len(heading) :]
    end = rest.find("\n## ")
    section = rest if end < 0 else rest[:end]
    out: list[list[dict[str, str]]] = []
    lines = section.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            headers = [h.strip() for h in lines[i].strip("|").split(" | ")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\) \| ", lines[i].strip()[2:-2])]
                rows.append(dict(zip(headers, cells, strict=True)))
                i += 1
            out.append(rows)
        else:
            i += 1
    return out


def pct(text: str) -> float:
    """The percentage at the end of a cell (``███ 15.0%`` → 0.15)."""
    match = re.search(r"(-?[\d.]+)%$", text.strip())
    assert match, text
    return float(match.group(1)) / 100.0


def name_of(cell: str) -> str:
    """A profile or engine cell without its markers (accepted, short sample)."""
    return cell.replace(" (accepted)", "").replace(" †", "").strip()


def read(build: ReportBuild, name: str) -> str:
    return (build.run_dir / name).read_text(encoding="utf-8")


def test_every_report_and_the_golden_list(built: ReportBuild) -> None:
    for name in ALWAYS_WRITTEN:
        assert (built.run_dir / name).is_file(), name
    config = sample_config(built.run_dir)
    assert len(built.golden) == len(golden_paths(config)) == 33  # report.html included
    assert built.absent == []
    manifest = json.loads(read(built, ESSENTIAL))
    assert manifest["files"] == built.golden
    assert manifest["files"][0] == ESSENTIAL
    assert manifest["run_id"] == config.run_id
    for path in built.golden:
        assert (built.run_dir / path).is_file(), path
    assert sorted(p.name for p in (built.run_dir / TEARSHEETS_DIR).iterdir()) == sorted(
        f"{e}_{p}_{s}.md" for e, p, s in config.essential_combinations
    )


def _profile_series(run_dir: Path, profile: str) -> pd.Series:
    portfolio = json.loads((run_dir / A.PORTFOLIO).read_text())
    returns = pd.read_parquet(run_dir / A.RETURNS)
    weights = {a["symbol"]: a["net"] for a in portfolio["profiles"][profile]["assets"]}
    frame = returns[list(weights)]
    values = frame.fillna(0.0).to_numpy() @ np.array(list(weights.values()))
    return pd.Series(values, index=returns.index)[frame.notna().any(axis=1).to_numpy()]


@pytest.mark.parametrize("profile", ["hrp", "barbell", "market"])
def test_portfolio_report_numbers(built: ReportBuild, profile: str) -> None:
    text = read(built, "portfolio_report.md")
    portfolio = json.loads((built.run_dir / A.PORTFOLIO).read_text())
    doc = portfolio["profiles"][profile]
    heading = f"## Profile: {profile}"
    section = text[text.index(heading) :].split("\n## ")[0]
    net = re.search(r"Net exposure: (-?[\d.]+)% · gross exposure: ([\d.]+)%", section)
    assert net is not None
    assert float(net.group(1)) == pytest.approx(round(doc["net_exposure"] * 100, 2))
    assert float(net.group(2)) == pytest.approx(round(doc["gross_exposure"] * 100, 2))
    series = _profile_series(built.run_dir, profile)
    periods = periods_per_year(pd.DatetimeIndex(series.index))
    vol = re.search(r"Volatility: ([\d.]+)% annualised \((\d+) sessions per year\)", section)
    assert vol is not None
    assert int(vol.group(2)) == periods
    assert float(vol.group(1)) == pytest.approx(
        round(series.std(ddof=1) * math.sqrt(periods) * 100, 2)
    )
    returns = pd.read_parquet(built.run_dir / A.RETURNS)
    spy = returns["AMEX:SPY"].dropna()
    wealth = (1 + series).cumprod().reindex(series.index.union(spy.index)).ffill().fillna(1.0)
    p = (wealth.loc[spy.index] / wealth.loc[spy.index].shift(1) - 1).iloc[1:]
    b = spy.iloc[1:]
    beta = np.cov(p, b, ddof=1)[0, 1] / np.var(b, ddof=1)
    shown = re.search(
        r"Beta to AMEX:SPY: (-?[\d.]+) · correlation to AMEX:SPY: (-?[\d.]+)", section
    )
    assert shown is not None
    assert float(shown.group(1)) == pytest.approx(round(beta, 3), abs=1e-12)
    assert float(shown.group(2)) == pytest.approx(round(np.corrcoef(p, b)[0, 1], 3), abs=1e-12)
    gross = sorted((a["gross"] for a in doc["assets"]), reverse=True)
    top3 = re.search(r"Top-3 concentration: ([\d.]+)%", section)
    assert top3 is not None
    assert float(top3.group(1)) == pytest.approx(round(sum(gross[:3]) / sum(gross) * 100, 2))
    clusters_table = tables_after(section, "### Concentration by cluster")[0]
    assert {r["Cluster"]: pct(r["Gross"]) for r in clusters_table} == pytest.approx(
        {c: round(v["gross"], 3) for c, v in doc["clusters"].items() if v["gross"] >= 1e-4},
        abs=1e-9,
    )
    positions: dict[str, float] = {}
    for rows in tables_after(section, "### Positions by asset class"):
        positions.update({f"{r['Asset']} net": pct(r["Net"]) for r in rows})
        positions.update({f"{r['Asset']} gross": pct(r["Gross"]) for r in rows})
    expected = {f"{a['symbol']} net": round(a["net"], 4) for a in doc["assets"]}
    expected.update({f"{a['symbol']} gross": round(a["gross"], 3) for a in doc["assets"]})
    assert positions == pytest.approx(expected, abs=1e-9)


def test_portfolio_report_header_grid_and_reference(built: ReportBuild) -> None:
    text = read(built, "portfolio_report.md")
    health = json.loads((built.run_dir / A.HEALTH_JSON).read_text())
    excluded = json.loads((built.run_dir / A.UNIVERSE).read_text())["excluded"]
    ok, n = health["counts"]["OK"], health["n_listings"]
    assert f"**Data health:** {ok} of {n} listings OK (" in text
    assert f"; {len(excluded)} excluded" in text
    audit = json.loads((built.run_dir / A.AUDIT_JSON).read_text())
    assert f"**Audit:** PASSED ({len(audit['checks'])} checks" in text
    clusters = json.loads((built.run_dir / A.CLUSTERS).read_text())["clusters"]
    grid = tables_after(text, "## Cluster grid")[0]
    assert [r["Lead asset"] for r in grid] == [c["lead_asset"] for c in clusters]
    hrp = json.loads((built.run_dir / A.PORTFOLIO).read_text())["profiles"]["hrp"]["clusters"]
    assert [pct(r["hrp"]) for r in grid] == pytest.approx(
        [round(hrp[str(c["id"])]["gross"], 3) for c in clusters], abs=1e-9
    )
    for row, c in zip(grid, clusters, strict=True):
        assert row["Fragility"].startswith("⚠") == (c["mean_fragility"] >= 2 / 3)
    reference = tables_after(text, "## Shared Cluster Reference")[0]
    leads = {r["Lead asset"].split(" (")[0]: r["Implementation alternatives"] for r in reference}
    identities = json.loads((built.run_dir / A.RAW_POOL_JSON).read_text())["identities"]
    shown = 0
    for identity in identities:
        if identity["lead_symbol"] not in leads:
            continue
        for alt in identity["alternatives"]:
            if not alt["is_lead"]:
                cell = leads[identity["lead_symbol"]]
                assert f"{alt['symbol']} ({alt['kind']}, {alt['direction']})" in cell
                shown += 1
    assert shown >= 2  # the tiny market lists BTC and ETH on several venues


def test_strategy_resume_numbers(built: ReportBuild) -> None:
    text = read(built, "backtest_comparison.md")
    summary = json.loads((built.run_dir / A.TOURNAMENT_SUMMARY).read_text())
    rows = {
        r["profile"]: r["metrics"]
        for r in summary["rows"]
        if r["engine"] == "custom" and r["simulator"] == "realized"
    }
    table = tables_after(text, "## Realizable baseline")[0]
    shown = {name_of(r["Profile"]): r for r in table}
    assert set(shown) == set(rows)
    for profile, metrics in rows.items():
        assert pct(shown[profile]["CAGR"]) == pytest.approx(round(metrics["cagr"], 4), abs=1e-9)
        assert float(shown[profile]["Sharpe"]) == pytest.approx(round(metrics["sharpe"], 2))
        assert pct(shown[profile]["Max drawdown"]) == pytest.approx(
            round(metrics["max_drawdown"], 4)
        )
    ranks = [name_of(r["Profile"]) for r in table]
    assert ranks == sorted(rows, key=lambda p: -rows[p]["sharpe"])
    market = next(
        r
        for r in summary["rows"]
        if r["engine"] == "market" and r["profile"] == "market" and r["simulator"] == "realized"
    )
    market_row = tables_after(text, "## Market")[0][0]
    assert pct(market_row["CAGR"]) == pytest.approx(round(market["metrics"]["cagr"], 4))


def test_regime_attribution_by_hand(built: ReportBuild) -> None:
    text = read(built, "backtest_comparison.md")
    returns = pd.read_parquet(built.run_dir / A.TOURNAMENT_RETURNS)[
        "market|market|realized"
    ].dropna()
    labels = pd.read_parquet(built.run_dir / A.REGIME_SERIES)["label"]
    in_force = []
    for day in returns.index:
        before = labels[labels.index < day]
        in_force.append(before.iloc[-1] if len(before) else "unlabelled")
    regimes = pd.Series(in_force, index=returns.index)
    table = tables_after(text, "## Regime attribution")[0]
    market = next(r for r in table if r["Strategy"].startswith("market"))
    for header, cell in market.items():
        if header == "Strategy" or cell == "—":
            continue
        label = header.split(" ")[0]
        chunk = returns[regimes == label]
        total = float(np.prod(1 + chunk.to_numpy()) - 1)
        assert f"({len(chunk)} sessions)" in header
        assert float(cell.split("%")[0]) == pytest.approx(round(total * 100, 2), abs=1e-9)


def test_engine_benchmark_ranks_and_failures(sample_copy: Path) -> None:
    summary = json.loads((sample_copy / A.TOURNAMENT_SUMMARY).read_text())
    for simulator in ("idealized", "realized"):  # an engine that failed on this profile
        summary["rows"].append(
            {
                "engine": "riskfolio",
                "profile": "max_sharpe",
                "simulator": simulator,
                "status": "failed",
                "error": "InfeasibleError: cluster caps infeasible",
                "metrics": {},
            }
        )
    (sample_copy / A.TOURNAMENT_SUMMARY).write_text(json.dumps(summary))
    build = build_reports(sample_copy, sample_config(sample_copy))
    text = read(build, "engine_comparison_report.md")
    table = tables_after(text, "## Profile: max_sharpe")[0]
    assert [name_of(r["Engine"]) for r in table][-1] == "riskfolio"
    assert table[-1]["Rank"] == "—"
    assert "failed" in table[-1]["Status"] and "InfeasibleError" in table[-1]["Status"]
    sharpe = [float(r["Realized Sharpe"]) for r in table if r["Rank"] != "—"]
    assert sharpe == sorted(sharpe, reverse=True)
    windows = tables_after(text, "## Windows by engine and simulator")[0]
    assert {(name_of(r["Engine"]), r["Simulator"]) for r in windows} >= {("custom", "realized")}


def test_tearsheet_numbers(built: ReportBuild) -> None:
    text = read(built, "tearsheets/custom_hrp_realized.md")
    series = pd.read_parquet(built.run_dir / A.TOURNAMENT_RETURNS)["custom|hrp|realized"].dropna()
    expected = summary_metrics(series, periods=365)
    metrics = {r["Metric"]: r for r in tables_after(text, "## Key metrics")[0]}
    assert pct(metrics["CAGR"]["Strategy"]) == pytest.approx(round(expected["cagr"], 4), abs=1e-9)
    assert pct(metrics["Max drawdown"]["Strategy"]) == pytest.approx(
        round(expected["max_drawdown"], 4)
    )
    assert float(metrics["Sharpe"]["Strategy"]) == pytest.approx(round(expected["sharpe"], 2))
    monthly = tables_after(text, "## Monthly returns")[0]
    days = pd.DatetimeIndex(series.index)
    last = days[-1]
    month = series[(days.year == last.year) & (days.month == last.month)]
    row = next(r for r in monthly if str(last.year) in r.values())
    assert pct(row[last.strftime("%b")]) == pytest.approx(round(float(np.prod(1 + month) - 1), 4))


def test_decision_audit_highlights_fallbacks(built: ReportBuild) -> None:
    text = read(built, "decision_audit.md")
    decisions = RunArtifacts(built.run_dir).decisions(exclude_steps=("reporting",))
    fallbacks = [d for d in decisions if is_fallback(d)]
    assert fallbacks  # the tiny market takes some (enrichment defaults, forward fills)
    assert f"## Fallbacks ({len(fallbacks)})" in text
    assert text.count("> ⚠ **") == len(fallbacks)
    ledger = json.loads((built.run_dir / A.LEDGER).read_text())
    warnings = [
        w
        for name, step in ledger["steps"].items()
        if name != "reporting"
        for w in step.get("warnings") or []
    ]
    assert warnings and all(f"> ⚠ warning: {w}" in text for w in warnings)
    summary = {r["Step"]: r for r in tables_after(text, "## Summary")[0]}
    per_step = {
        STEP_TITLES[step]: sum(1 for d in fallbacks if d["step"] == step)
        for step in {d["step"] for d in decisions}
    }
    assert {t: int(summary[t]["Fallbacks"]) for t in per_step} == per_step
    assert "[`selection_audit.md`](selection_audit.md)" in text


def test_slippage_and_cluster_reports(built: ReportBuild) -> None:
    text = read(built, "slippage_decay_audit.md")
    decay = json.loads((built.run_dir / A.TOURNAMENT_SUMMARY).read_text())["decay"]
    table = tables_after(text, "## Decay by engine and profile")[0]
    row = next(r for r in table if r["Engine"] == "custom" and r["Profile"] == "hrp")
    ref = next(d for d in decay if d["engine"] == "custom" and d["profile"] == "hrp")
    assert pct(row["Decay"]) == pytest.approx(round(ref["decay"], 4), abs=1e-9)
    clusters = read(built, "cluster_analysis.md")
    doc = json.loads((built.run_dir / A.CLUSTERS).read_text())
    assert f"{len(doc['clusters'])} clusters of {len(doc['labels'])} assets" in clusters
    assert "![Clustermap](clustermap.png)" in clusters


def test_absent_artifacts_are_said_not_invented(tmp_path: Path) -> None:
    sample = make_sample_run(
        tmp_path / "run", tournament=False, audit=False, selection=False, decay_audit=False
    )
    build = build_reports(sample.run_dir, sample_config(sample.run_dir))
    text = {
        name: (sample.run_dir / name).read_text() for name in build.written if name.endswith(".md")
    }
    for name in ("backtest_comparison.md", "engine_comparison_report.md"):
        assert "not available in this run: `tournament_summary.json`" in text[name]
        assert not re.search(r"\d+\.\d+%", text[name])
    assert (
        "not available in this run: `slippage_decay.json` (feat_decay_audit is off"
        in text["slippage_decay_audit.md"]
    )
    assert "not available in this run: `audit.json`" in text["portfolio_report.md"]
    assert "not available in this run: `selection_audit.md`" in text["decision_audit.md"]
    assert not (sample.run_dir / TEARSHEETS_DIR).exists()
    assert not (sample.run_dir / "equity_curves.png").exists()
    assert {
        "audit.json",
        "selection_audit.md",
        "tournament_summary.json",
        "equity_curves.png",
    } <= set(build.absent)
    manifest = json.loads((sample.run_dir / ESSENTIAL).read_text())
    assert "tearsheets/custom_hrp_realized.md" in manifest["absent"]


def test_rerendering_removes_stale_reports_and_is_byte_identical(sample_copy: Path) -> None:
    config = sample_config(sample_copy)
    first = build_reports(sample_copy, config)
    snapshot = {name: (sample_copy / name).read_bytes() for name in first.written}
    second = build_reports(sample_copy, config)
    assert second.written == first.written
    for name in second.written:
        assert (sample_copy / name).read_bytes() == snapshot[name], name
    for name in (A.TOURNAMENT_RETURNS, A.TOURNAMENT_SUMMARY, A.TOURNAMENT_RESULTS):
        (sample_copy / name).unlink()
    third = build_reports(sample_copy, config)
    assert "equity_curves.png" in third.removed
    assert any(r.startswith(TEARSHEETS_DIR) for r in third.removed)
    assert not (sample_copy / TEARSHEETS_DIR).exists()


def test_pictures_do_not_depend_on_a_global_style() -> None:
    import matplotlib

    from clusterfolio.report.plots import cluster_weights_png

    weights = {"hrp": {"1": 0.6, "2": 0.4}, "equal_weight": {"1": 0.5, "2": 0.5}}
    before = cluster_weights_png(weights, leads={"1": "AMEX:SPY"})
    with matplotlib.rc_context({"axes.facecolor": "red", "font.size": 20}):
        assert cluster_weights_png(weights, leads={"1": "AMEX:SPY"}) == before
    assert before.startswith(b"\x89PNG")
    assert b"Software" not in before and b"tIME" not in before


def test_a_corrupt_artifact_is_an_error_not_an_absence(sample_copy: Path) -> None:
    from clusterfolio.errors import CorruptFileError

    (sample_copy / A.TOURNAMENT_SUMMARY).write_text("{not json")
    with pytest.raises(CorruptFileError, match=r"tournament_summary\.json"):
        build_reports(sample_copy, sample_config(sample_copy))
    shutil.rmtree(sample_copy)


def test_a_stale_audit_is_flagged(sample_copy: Path) -> None:
    (sample_copy / A.UNIVERSE).write_text('{"symbols": [], "excluded": {}, "filled": {}}')
    build_reports(sample_copy, sample_config(sample_copy))
    text = (sample_copy / "portfolio_report.md").read_text()
    assert "**Audit: STALE**" in text and "universe.json changed" in text


def test_caps_that_decided_the_weights_are_said_in_the_profile_section(sample_copy: Path) -> None:
    path = sample_copy / A.PORTFOLIO
    doc = json.loads(path.read_text())
    effect = {
        "l1": 1.31,
        "cut": [{"symbol": "AMEX:SHY", "unbounded": 0.804, "final": 0.15}],
        "received": [
            {
                "symbol": "NYSE:PYPL",
                "unbounded": 0.0,
                "final": 0.15,
                "volatility": 0.45,
                "risk_share": 0.64,
            }
        ],
    }
    doc["profiles"]["hrp"]["diagnostics"]["hrp"]["cap_effect"] = effect
    path.write_text(json.dumps(doc))
    text = read(build_reports(sample_copy, sample_config(sample_copy)), "portfolio_report.md")
    hrp = text[text.index("## Profile: hrp") :]
    hrp = hrp[: hrp.index("\n## ", 1)]
    assert "> ⚠ **Caps** (audit `cap_effect`): the caps decided most of the weights" in hrp
    assert "NYSE:PYPL 0.0% -> 15.0% (volatility 45.0%, 64.0% of the risk)" in hrp
    effect["l1"] = 0.2
    path.write_text(json.dumps(doc))
    text = read(build_reports(sample_copy, sample_config(sample_copy)), "portfolio_report.md")
    assert "**Caps**" not in text
