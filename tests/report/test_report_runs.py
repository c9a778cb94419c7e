"""Run management: ``runs``, ``diff``, ``--version``, ``--json``, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clusterfolio.cli import app
from clusterfolio.errors import AuditError, ConfigError, CorruptFileError, DataError, HealthError
from clusterfolio.exitcodes import ExitCode, exit_code_for
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.report.runs import diff_runs, list_runs
from tests.fakes.sample_run import SampleRun

RUN_A = "2026-11-19_sample_aaaaaaaaaa"
RUN_B = "2026-11-20_sample_bbbbbbbbbb"


@pytest.fixture
def project(tmp_path: Path, sample_template: SampleRun) -> Path:
    runs = tmp_path / "data" / "runs"
    for run_id, as_of in ((RUN_A, "2026-11-19"), (RUN_B, "2026-11-20")):
        shutil.copytree(sample_template.run_dir, runs / run_id)
        ledger = read_json(runs / run_id / "run_manifest.json")
        ledger.update(
            run_id=run_id,
            as_of=as_of,
            status="completed",
            started_at=f"{as_of}T09:00:00+00:00",
            finished_at=f"{as_of}T09:01:30+00:00",
        )
        atomic_write_json(runs / run_id / "run_manifest.json", ledger)
    b = runs / RUN_B
    doc = read_json(b / "portfolio_optimized.json")
    hrp = doc["profiles"]["hrp"]["assets"]
    hrp[0]["net"], hrp[1]["net"] = hrp[0]["net"] + 0.01, hrp[1]["net"] - 0.01
    atomic_write_json(b / "portfolio_optimized.json", doc)
    universe = read_json(b / "universe.json")
    universe["symbols"] = [*universe["symbols"][1:], "NYSE:NEWCO"]
    atomic_write_json(b / "universe.json", universe)
    regime = read_json(b / "regime.json")
    regime["label"] = "CRISIS"
    atomic_write_json(b / "regime.json", regime)
    ledger = read_json(b / "run_manifest.json")
    ledger["settings"]["selection"]["top_n"] = 7
    atomic_write_json(b / "run_manifest.json", ledger)
    (runs / "latest").symlink_to(RUN_B)
    lake = tmp_path / "data" / "lakehouse"
    lake.mkdir(parents=True)
    atomic_write_json(
        lake / "portfolio_actual_state.json",
        {"run_id": RUN_A, "profile": "hrp", "weights": {}},
    )
    return tmp_path


def test_list_runs(project: Path) -> None:
    rows = list_runs(project / "data" / "runs", {"run_id": RUN_A})
    assert [r.run_id for r in rows] == [RUN_B, RUN_A]  # newest first
    assert rows[0].latest and not rows[0].accepted
    assert rows[1].accepted and rows[1].duration_s == 90.0
    assert rows[0].audit == "passed"


def test_diff_runs(project: Path) -> None:
    runs = project / "data" / "runs"
    diff = diff_runs(runs / RUN_A, runs / RUN_B, profile="hrp")
    assert len(diff["weights"]) == 2
    assert diff["turnover"] == pytest.approx(0.01)
    assert diff["universe"]["added"] == ["NYSE:NEWCO"] and len(diff["universe"]["removed"]) == 1
    assert diff["regime"] == {"a": diff["regime"]["a"], "b": "CRISIS", "changed": True}
    assert {"key": "selection.top_n", "a": 3, "b": 7} in diff["settings"]
    assert diff["clusters"]["same_partition_of_shared"] is True


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_runs_diff_json(project: Path) -> None:
    code, out = invoke("runs", "--root", str(project), "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["run_id"] for r in rows] == [RUN_B, RUN_A] and rows[1]["accepted"] is True
    code, out = invoke("runs", "--root", str(project))
    assert code == 0 and "(latest)" in out and "passed" in out
    code, out = invoke("diff", RUN_A, "latest", "--root", str(project), "--json")
    assert code == 0 and json.loads(out)["regime"]["b"] == "CRISIS"
    code, out = invoke("diff", RUN_A, "latest", "--root", str(project))
    assert code == 0 and "selection.top_n: 3 -> 7" in out
    code, out = invoke("diff", RUN_A, "nope", "--root", str(project))
    assert code == ExitCode.BAD_INPUT and "unknown run" in out


def test_version_and_exit_codes() -> None:
    code, out = invoke("--version")
    assert code == 0 and out.startswith("clusterfolio ")
    assert exit_code_for(AuditError("x")) == ExitCode.REFUSED == 1
    assert exit_code_for(ConfigError("x")) == ExitCode.BAD_INPUT == 2
    assert exit_code_for(DataError("x")) == ExitCode.BAD_INPUT
    assert exit_code_for(HealthError("x")) == exit_code_for(CorruptFileError("x")) == 3
    code, out = invoke("config", "show", "--set", "nope.key=1")
    assert code == ExitCode.BAD_INPUT
