"""``explain`` adds the allocation: weight per profile, cluster and cap, direction, fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clusterfolio.cli import app
from clusterfolio.errors import DataError
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.report.allocation import allocation, allocation_lines, resolve_subject
from tests.fakes.sample_run import SampleRun


def test_allocation_of_a_short_and_its_fallback(sample_copy: Path) -> None:
    doc = read_json(sample_copy / "portfolio_optimized.json")
    hrp = doc["profiles"]["hrp"]
    asset = hrp["assets"][0]
    for section in doc["profiles"].values():  # the listing is a SHORT candidate in every profile
        for held in section["assets"]:
            if held["symbol"] == asset["symbol"]:
                held["direction"], held["net"] = "SHORT", -abs(held["gross"])
    hrp["fallbacks"] = [
        {
            "kind": "cap_projection",
            "detail": f"hrp: caps bound; capped clusters [{asset['cluster']}], capped assets []",
        }
    ]
    atomic_write_json(sample_copy / "portfolio_optimized.json", doc)
    out = allocation(asset["symbol"], sample_copy)
    assert out["profiles"]["hrp"]["net"] == pytest.approx(-abs(asset["gross"]))
    assert out["cluster"] == asset["cluster"] and out["cluster_cap"] == doc["cluster_cap"]
    assert "synthetic long" in out["direction_reason"]
    assert len(out["fallbacks"]) == 1 and "caps its cluster" in out["fallbacks"][0]
    lines = allocation_lines(out, "hrp")
    assert any("(accepted)" in line and "hrp" in line for line in lines)
    assert resolve_subject(asset["symbol"].split(":")[1], sample_copy) == [asset["symbol"]]


def test_unknown_subject_names_the_closest(sample_template: SampleRun) -> None:
    doc = read_json(sample_template.run_dir / "portfolio_optimized.json")
    symbol = doc["profiles"]["hrp"]["assets"][0]["symbol"]
    typo = symbol.split(":")[1] + "X"
    with pytest.raises(DataError, match="closest: .*" + symbol.split(":")[1]):
        resolve_subject(typo, sample_template.run_dir)


@pytest.mark.slow
def test_explain_cli_on_a_real_run(dev_run_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(dev_run_root)]
    weights = read_json(dev_run_root / "data/runs/latest/portfolio_optimized.json")["profiles"]
    top = max(weights["hrp"]["assets"], key=lambda a: a["gross"])["symbol"]
    result = runner.invoke(app, ["explain", top, *root])
    assert result.exit_code == 0, result.output
    assert "(accepted)" in result.output and "cluster cap" in result.output
    result = runner.invoke(app, ["explain", top, "--json", *root])
    data = json.loads(result.output)
    assert data["allocations"][0]["profiles"]["hrp"]["gross"] > 0
    result = runner.invoke(app, ["explain", "ZZZQQQ", *root])
    assert result.exit_code == 2 and "closest" in result.output
