"""A user's folder of plain ``<TICKER>.csv`` files through the pipeline up to the health audit.

Zero configuration: the baseline is absent (a candidate is used and recorded), the as-of is the
baseline's last session, the problems of the files reach ``data_health.json`` and
``data_health.md`` per listing and session, empty screens say why, and a one-way drop beyond
the threshold is a suspected corporate action.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from clusterfolio.data.baseline import plan_files_run
from clusterfolio.data.calendars import sessions
from clusterfolio.enums import CalendarKind
from clusterfolio.manifest import load
from clusterfolio.pipeline.context import default_provider
from clusterfolio.pipeline.registry import StepRegistry
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps import build_registry

TICKERS = ("VOO", "AAPL", "MSFT", "JPM", "XOM", "KO", "PFE", "TLT", "GLD", "XLK", "XLE", "EFA")
END = date(2022, 6, 30)


def _write_folder(root: Path) -> None:
    days = sessions(CalendarKind.NYSE, date(2021, 1, 4), END)
    rng = np.random.default_rng(11)
    for i, ticker in enumerate(TICKERS):
        drift = 0.0015 if i % 2 == 0 else -0.0008
        close = 50 * np.exp(np.cumsum(rng.normal(drift, 0.012, len(days))))
        frame = pd.DataFrame(
            {
                "Date": days.strftime("%Y-%m-%d"),
                "Open": close * 0.995,
                "High": close * 1.01,
                "Low": close * 0.99,
                "Close": close,
                "Volume": 5e6,
            }
        )
        if ticker == "VOO":
            frame.loc[len(frame) - 100 :, ["Open", "High", "Low", "Close"]] *= 0.4  # spin-off
            frame["Open"] = frame["Open"].astype(object)
            frame.loc[len(frame) - 10, "Open"] = ""  # a valid close, no open
            frame = pd.concat([frame, frame.iloc[[len(frame) - 20]]])  # a duplicated session
        frame.to_csv(root / f"{ticker}.csv", index=False)


def _registry() -> StepRegistry:
    full = build_registry().steps()
    names = [s.name.value for s in full]
    registry = StepRegistry()
    for step in full[: names.index("health_audit") + 1]:
        registry.register(step)
    return registry


def test_plain_folder_runs_through_the_health_audit(tmp_path: Path, repo_root: Path) -> None:
    folder = tmp_path / "my prices"
    folder.mkdir()
    _write_folder(folder)
    sets = [
        "data.provider=files",
        f"data.files.root={folder}",
        'data.files.patterns=["**/*"]',
        "data.lookback_days=120",
        "discovery.history_days=400",
    ]
    resolved = load(repo_root / "configs/manifest.json", "development", sets, environ={})
    plan = plan_files_run(resolved.settings, tmp_path, None)
    assert plan.as_of == END
    resolved = load(
        repo_root / "configs/manifest.json", "development", [*sets, *plan.overrides], environ={}
    )
    assert resolved.settings.backtest.baseline == "AMEX:VOO"
    orchestrator = Orchestrator(
        _registry(),
        resolved,
        project_root=tmp_path,
        as_of=plan.as_of,
        provider_factory=default_provider,
        config_root=repo_root,
    )
    ledger = orchestrator.run()
    run_dir = orchestrator.runs_dir / ledger.run_id

    discovery = ledger.steps["discovery"]
    assert [f.get("used") for f in discovery.fallbacks if f.kind == "baseline"] == ["AMEX:VOO"]
    summary = json.loads((run_dir / "discovery_summary.json").read_text())
    reasons = summary["empty_reasons"]
    assert "needs market_cap_basic: absent for" in reasons["equity_liquid_leaders_long"]
    assert "no listing in its universe" in reasons["crypto_momentum_long"]

    health = json.loads((run_dir / "data_health.json").read_text())
    voo = health["source"]["by_listing"]["AMEX:VOO"]
    kinds = {(e["kind"], e["action"]) for e in voo}
    assert ("ohlc_filled", "repaired") in kinds and ("duplicate_session", "dropped") in kinds
    assert all(e["session"] for e in voo if e["kind"] in ("ohlc_filled", "duplicate_session"))
    verdict = next(x for x in health["listings"] if x["symbol"] == "AMEX:VOO")
    assert "SUSPECT_CORPORATE_ACTION" in json.dumps(verdict)
    markdown = (run_dir / "data_health.md").read_text()
    assert "## Source data (files provider" in markdown and "| AMEX:VOO |" in markdown
    assert "SUSPECT_CORPORATE_ACTION" in markdown or "never reverts" in markdown
    counts = ledger.steps["health_audit"].counts
    assert counts["source_problems"] >= 2 and counts["source_repaired"] >= 1
