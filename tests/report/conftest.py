"""Fixtures of the report tests: a sample run (built once) and its rendered reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clusterfolio.report.build import ReportBuild, build_reports
from tests.fakes.sample_run import SampleRun, make_sample_run, sample_config


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """A complete sample run, generated once (copy it before changing it)."""
    return make_sample_run(tmp_path_factory.mktemp("template") / "run")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, sample_template: SampleRun) -> ReportBuild:
    """The sample run with every report rendered (read only)."""
    run_dir = tmp_path_factory.mktemp("built") / "run"
    shutil.copytree(sample_template.run_dir, run_dir)
    return build_reports(run_dir, sample_config(run_dir))


@pytest.fixture
def sample_copy(tmp_path: Path, sample_template: SampleRun) -> Path:
    """A private copy of the sample run (free to change)."""
    run_dir = tmp_path / "run"
    shutil.copytree(sample_template.run_dir, run_dir)
    return run_dir
