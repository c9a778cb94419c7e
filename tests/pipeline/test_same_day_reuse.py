"""The second run of a day reuses every step whose inputs, and the stored bars it read, are unchanged.

Each test works on a copy of the tiny sample run's project (:func:`tests.fakes.sample_run.tiny_run`:
its lakehouse, run folder and ``summaries/``), so a rerun costs what it recomputes. The
provider factory of the rerun fails the test when called: a reused step asks no provider. The
tests that change stored bars rerun the tournament and are slow (``make test-all``); the read
sets themselves are tested fast in ``test_reads.py``.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clusterfolio.api import _text, run_pipeline
from clusterfolio.cli import app
from clusterfolio.enums import StepStatus
from clusterfolio.manifest import load
from clusterfolio.pipeline.context import RunProviders
from clusterfolio.pipeline.ledger import RunLedger
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps import build_registry
from tests.fakes.sample_run import SAMPLE_AS_OF, TINY, tiny_run

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "configs" / "manifest.json"
SETS = [f"{key}={_text(value)}" for key, value in TINY.items()]
VOLATILE = {"run_manifest.json", "run.log"}


def _no_provider(ctx: Any) -> Any:
    raise AssertionError("a reused step asked for the provider")


def _orchestrator(root: Path, *, provider: bool = True) -> Orchestrator:
    return Orchestrator(
        build_registry(),
        load(MANIFEST, "development", SETS),
        project_root=root,
        as_of=date.fromisoformat(SAMPLE_AS_OF),
        provider_factory=RunProviders() if provider else _no_provider,
        config_root=REPO,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the tiny run's project (``data/`` and ``summaries/``)."""
    source = tiny_run().parents[2]
    root = tmp_path / "project"
    shutil.copytree(source, root, symlinks=True)
    return root


def _run_dir(root: Path) -> Path:
    return (root / "data" / "runs" / "latest").resolve()


def _artifacts(root: Path) -> dict[str, bytes]:
    run_dir = _run_dir(root)
    out = {
        p.relative_to(run_dir).as_posix(): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name not in VOLATILE
    }
    for path in sorted((root / "data" / "lakehouse").rglob("*.parquet")):
        out["lake/" + path.name] = path.read_bytes()
    return out


def _ran(ledger: RunLedger) -> set[str]:
    return {name for name, record in ledger.steps.items() if not record.reused}


def _rewrite(path: Path, edit: Any) -> None:
    """Rewrite a candle file as ``edit(frame)`` returns it (schema and source stamp kept)."""
    table = pq.read_table(path)
    frame = edit(table.to_pandas())
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)


def _scaled(frame: pd.DataFrame, row: int, factor: float) -> pd.DataFrame:
    """``frame`` with the close of one row multiplied by ``factor``."""
    frame["close"] = frame["close"].where(frame.index != row, frame["close"] * factor)
    return frame


def test_second_run_reuses_every_step_byte_identical(project: Path) -> None:
    before = _artifacts(project)
    orchestrator = _orchestrator(project, provider=False)
    ledger = orchestrator.run()
    assert ledger.status is StepStatus.COMPLETED
    assert len(orchestrator.reused) == 13 and _ran(ledger) == set()
    assert "the stored bars of the" in ledger.steps["validation"].reused
    assert ledger.steps["cleanup"].reused == "inputs and artifacts unchanged"
    assert _artifacts(project) == before
    runs = project / "data" / "runs"
    assert not (runs / f"{ledger.run_id}.previous").exists()
    assert _run_dir(project) == runs / ledger.run_id
    assert any("13 of 13 steps reused" in n for n in orchestrator.notices)
    assert (project / "summaries").is_dir()  # reporting's on_reuse published them again


def test_cli_says_how_many_steps_were_reused(project: Path) -> None:
    args = ["run", "-q", "--as-of", SAMPLE_AS_OF, "--root", str(project)]
    args += ["--manifest", str(MANIFEST), "--profile", "development"]
    for item in SETS:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "completed, 13 steps reused" in result.output


def test_api_reuses_the_day_or_recomputes_when_fresh(project: Path) -> None:
    before = _artifacts(project)

    def again(*, fresh: bool) -> RunLedger:
        run = run_pipeline(
            "development", SAMPLE_AS_OF, TINY, root=project, manifest=MANIFEST, fresh=fresh
        )
        return RunLedger.load(run.path)

    assert _ran(again(fresh=False)) == set()
    ledger = again(fresh=True)
    assert ledger.status is StepStatus.COMPLETED and len(_ran(ledger)) == 13
    # Recomputed from the same stored bars: the same bytes, except the two reports that list the
    # warnings: each sync repeats the day's notes in the sync state, so a fresh rerun also shows
    # the duplicate sessions the first run's deeper fetches met.
    after = _artifacts(project)
    notes = {"decision_audit.md", "report.html"}
    assert {k for k in before if before[k] != after.get(k)} <= notes
    assert set(after) == set(before)


def _windows(ledger: RunLedger, symbol: str) -> dict[str, str]:
    """The earliest window start of each step that read ``symbol``."""
    out: dict[str, str] = {}
    for name, record in ledger.steps.items():
        for window in record.reads.get("windows", []):
            if symbol in window["symbols"]:
                out[name] = min(out.get(name, window["start"]), window["start"])
    return out


@pytest.mark.slow  # reruns the tournament (about 20 s)
def test_a_changed_bar_reruns_exactly_the_steps_that_read_it(project: Path) -> None:
    ledger = RunLedger.load(_run_dir(project))
    symbol = sorted(ledger.steps["validation"].reads["windows"][0]["symbols"])[0]
    starts = _windows(ledger, symbol)
    others = min(v for k, v in starts.items() if k != "validation")
    assert starts["validation"] < others  # the tournament's history reaches further back
    path = Path(_orchestrator(project).inputs.lake_view().lake.path(symbol))
    sessions = pd.to_datetime(pq.read_table(path, columns=["session"]).column(0).to_pandas())
    inside = sessions[(sessions >= starts["validation"]) & (sessions < others)]
    row = int(inside.index[0])

    _rewrite(path, lambda frame: _scaled(frame, row, 1.01))
    ledger = _orchestrator(project).run()
    assert _ran(ledger) == {"validation", "reporting"}  # reporting: it reads the trail
    assert ledger.status is StepStatus.COMPLETED
    log = (_run_dir(project) / "run.log").read_text()
    assert "step validation runs: stored bars inside the windows" in log

    # a bar inside discovery's window: discovery reruns (and whatever its artifacts feed)
    _rewrite(path, lambda frame: _scaled(frame, len(frame) - 1, 1.05))
    ledger = _orchestrator(project).run()
    assert "discovery" in _ran(ledger) and "cleanup" not in _ran(ledger)


@pytest.mark.slow  # reruns the tournament (about 20 s)
def test_a_deleted_listing_is_fetched_again_by_the_steps_that_read_it(project: Path) -> None:
    ledger = RunLedger.load(_run_dir(project))
    symbol = sorted(ledger.steps["deep_prep"].reads["windows"][0]["symbols"])[0]
    Path(_orchestrator(project).inputs.lake_view().lake.path(symbol)).unlink()
    orchestrator = _orchestrator(project)
    ledger = orchestrator.run()
    assert ledger.status is StepStatus.COMPLETED
    assert "discovery" in _ran(ledger) and "cleanup" not in _ran(ledger)
    log = (_run_dir(project) / "run.log").read_text()
    assert "step discovery runs: its sync would ask the provider for" in log


def test_code_version_or_fresh_recompute_every_step(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _run_dir(project)
    doc = json.loads((run_dir / "run_manifest.json").read_text())
    doc["code_version"] = "0.0.0+another"
    (run_dir / "run_manifest.json").write_text(json.dumps(doc))
    orchestrator = _orchestrator(project)
    calls: list[str] = []
    monkeypatch.setattr(orchestrator, "_run_step", lambda step, *a: calls.append(step.name.value))
    monkeypatch.setattr(orchestrator, "_finish", lambda *a: None)
    orchestrator.run()
    assert len(calls) == 13 and not orchestrator.reused
    assert any("not" in n and "every step is recomputed" in n for n in orchestrator.notices)
    # the earlier run was set aside (kept until the recompute completes), as before
    assert (run_dir.parent / f"{run_dir.name}.previous").is_dir()


def test_fresh_recomputes_every_step(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _run_dir(project)
    orchestrator = _orchestrator(project)
    calls: list[str] = []
    monkeypatch.setattr(orchestrator, "_run_step", lambda step, *a: calls.append(step.name.value))
    monkeypatch.setattr(orchestrator, "_finish", lambda *a: None)
    orchestrator.run(fresh=True)
    assert len(calls) == 13 and not orchestrator.reused
    assert (run_dir.parent / f"{run_dir.name}.previous").is_dir()


@pytest.mark.slow
def test_bars_outside_every_window_change_no_artifact(project: Path) -> None:
    """Why windows are signed, not whole files: history added before every window (as the deep
    pass and the tournament add it) and bars after the as-of date are reused as they are, and a
    fresh run on them gives the same artifacts as a fresh run without them."""
    _orchestrator(project).run(fresh=True)  # warm cache: the reference
    reference = {k: v for k, v in _artifacts(project).items() if not k.startswith("lake/")}
    lake = _orchestrator(project).inputs.lake_view().lake
    for symbol in lake.symbols():
        _rewrite(Path(lake.path(symbol)), _outside_every_window)
    ledger = _orchestrator(project, provider=False).run()
    assert _ran(ledger) == set()
    _orchestrator(project).run(fresh=True)
    again = {k: v for k, v in _artifacts(project).items() if not k.startswith("lake/")}
    assert sorted(again) == sorted(reference)
    assert [k for k in reference if again[k] != reference[k]] == []


def _outside_every_window(frame: pd.DataFrame) -> pd.DataFrame:
    """20 bars ten years (520 weeks) before the file's first, 3 a year after the as-of date."""
    old = frame.iloc[:20].copy()
    old["session"] = old["session"] - pd.Timedelta(days=3640)
    new = frame.iloc[-3:].copy()
    new["session"] = new["session"] + pd.Timedelta(days=364)
    return pd.concat([old, frame, new], ignore_index=True)
