"""The Python API: ``load_run`` / ``run_pipeline`` and the pandas views of a run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clusterfolio import Run, load_run
from clusterfolio.enums import Regime
from clusterfolio.errors import DataError, PipelineError
from tests.fakes.sample_run import make_sample_run


def test_import_is_light() -> None:
    code = (
        "import sys, clusterfolio; "
        "heavy = [m for m in ('pandas', 'numpy', 'clusterfolio.api') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "from clusterfolio import load_run, run_pipeline; assert 'clusterfolio.api' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(make_sample_run(tmp_path_factory.mktemp("api") / "run").run_dir)


def test_views_of_a_sample_run(sample: Run) -> None:
    weights = sample.weights()
    assert weights.index.name == "symbol" and {"net", "gross", "direction", "cluster"} <= set(
        weights.columns
    )
    assert weights["gross"].is_monotonic_decreasing
    assert (weights["gross"] >= 0).all()
    wide = sample.all_weights()
    assert set(wide.columns) == set(sample.profiles)
    pd.testing.assert_series_equal(
        wide[sample.accepted_profile].loc[weights.index],
        weights["net"].astype(float),
        check_names=False,
    )
    assert not sample.tournament().empty
    assert isinstance(sample.regime(), pd.Series)
    assert not sample.health().empty


def test_unknown_profile_and_run(sample: Run, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="profiles:"):
        sample.weights("nope")
    with pytest.raises(PipelineError):
        load_run("latest", root=tmp_path)


@pytest.mark.slow
def test_real_development_run(dev_run_root: Path) -> None:
    run = load_run("latest", root=dev_run_root)
    assert run.profile == "development" and run.as_of == "2026-12-03"
    assert run.status == "completed"
    weights = run.weights()
    assert weights["gross"].sum() == pytest.approx(1.0, abs=1e-6)
    assert set(weights["direction"]) <= {"LONG", "SHORT"}
    orders = run.orders()
    assert {"quantity", "notional", "est_cost", "last_price", "price_date"} <= set(orders.columns)
    assert (orders["symbol"] != "CASH").all() and len(orders) > 0
    assert not run.clusters().empty
    assert run.regime()["label"] in {r.value for r in Regime}
    tournament = run.tournament()
    assert tournament["sharpe"].dropna().is_monotonic_decreasing  # ranked, failures last
    assert (
        tournament["sharpe"].isna().sum() == 0
        or tournament["sharpe"].iloc[-1] != tournament["sharpe"].iloc[-1]
    )
    assert set(run.health()["status"]) >= {"OK"}
    top = weights.index[0]
    decisions = run.decisions(top)
    assert len(decisions) > 0 and set(decisions["subject"].str.upper()) >= {top}
    head = run.headline()
    assert head["regime"] == run.regime()["label"]
    assert len(head["top"]) == 5


@pytest.mark.slow
def test_example_notebook_runs(dev_run_root: Path, repo_root: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(repo_root / "examples" / "daily_routine.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(dev_run_root)}},
    )
    client.execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
