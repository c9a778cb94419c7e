"""The whole pipeline on the ``tradingview`` provider, pointed at the loopback servers.

The real CLI runs in-process (``typer.testing.CliRunner``) through every registered step with
``--set data.provider=tradingview`` and the servers' URLs. The scanner answers the project's
own screens (``configs/scanners``) with columns computed from the chart server's candles, so
what discovery finds and what the passes fetch agree.

Checked: every step's artifacts exist; a fault-ridden first run (a 429 storm on the scanner, a
series dropped mid-way on the market baseline) still completes and leaves only whole, correct
candle files; a second run on the fresh cache makes zero chart requests and writes the same
artifacts byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from clusterfolio.cli import app
from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.schema import validate_candles
from clusterfolio.data.tradingview.fields import load_catalog
from clusterfolio.discovery.screens import load_screens
from clusterfolio.io import read_json, read_parquet
from clusterfolio.pipeline.steps import build_registry
from tests.fakes.tradingview import (
    DEFAULT_AS_OF,
    ChartFault,
    FakeChartServer,
    FakeScannerServer,
    HttpFault,
    default_universe,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DISCOVERY_PY = Path(__file__).resolve().parents[2] / "src/clusterfolio/pipeline/steps/discovery.py"
BASELINE = "AMEX:SPY"
TINY = [
    "data.lookback_days=80",
    "data.light_lookback_days=30",
    "backtest.train=40",
    "backtest.realized_target=20",
]
FAST_TV = [
    "data.tradingview.max_retries=4",
    "data.tradingview.backoff_base_s=0.001",
    "data.tradingview.backoff_max_s=0.01",
    "data.tradingview.timeout_s=5",
    "data.tradingview.rate_limit_per_s=10000",
    "data.tradingview.concurrency=4",
    "data.tradingview.page_size=100",
]
VOLATILE = {"run_manifest.json", "run.log"}
#: Artifacts with a part that describes the candle cache rather than the pass: the light pass
#: reports the stored history of each listing (``coverage``), which the first run's deep pass
#: deepened. Everything else in them must match.
CACHE_DEPENDENT = {"sync_light.json": "coverage"}


@pytest.fixture(scope="module", autouse=True)
def _dispatch_in_place() -> None:
    """Skip until the discovery step sends the screens to a remote scanner."""
    if "remote_exports" not in DISCOVERY_PY.read_text(encoding="utf-8"):
        pytest.skip(
            "steps/discovery.py does not dispatch to remote_exports yet: with the tradingview "
            "provider discovery would still compute the screener locally"
        )


@pytest.fixture(scope="module")
def chart() -> Iterator[FakeChartServer]:
    """Chart server: 400 bars per symbol on each symbol's own calendar."""
    with FakeChartServer(history=400, calendar_sessions=True) as server:
        yield server


@pytest.fixture(scope="module")
def scanner(chart: FakeChartServer) -> Iterator[FakeScannerServer]:
    """Scanner over a small universe, columns from the chart's candles, real field lists when
    ``../shared`` has them (otherwise the provider records that columns are not validated)."""
    catalog, _ = load_catalog()
    universe = default_universe(n_stocks=60, n_bonds=0)
    universe["crypto"] = [r for r in universe["crypto"] if r["exchange"] in ("BINANCE", "KRAKEN")]
    with FakeScannerServer(universe, catalog=catalog, chart=chart) as server:
        yield server


def _run(root: Path, repo_root: Path, scanner: FakeScannerServer, chart: FakeChartServer) -> None:
    args = ["run", "-q", "--as-of", DEFAULT_AS_OF.isoformat(), "--root", str(root)]
    args += ["--manifest", str(repo_root / "configs" / "manifest.json"), "--profile", "development"]
    sets = [
        "data.provider=tradingview",
        f"data.tradingview.scanner_url={scanner.url}",
        f"data.tradingview.websocket_url={chart.url}",
        *FAST_TV,
        *TINY,
    ]
    for item in sets:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)


def _run_dir(root: Path) -> Path:
    (run_dir,) = [p for p in (root / "data" / "runs").iterdir() if not p.is_symlink()]
    return run_dir


def _artifacts(root: Path) -> dict[str, bytes]:
    run_dir = _run_dir(root)
    out = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and path.name not in VOLATILE:
            out[path.relative_to(run_dir).as_posix()] = path.read_bytes()
    for path in sorted((root / "data" / "lakehouse").glob("*/*.parquet")):
        out["lakehouse/" + path.name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory,
    repo_root: Path,
    scanner: FakeScannerServer,
    chart: FakeChartServer,
) -> Path:
    """A run with faults: a 429 storm on the scanner and a dropped series on the baseline."""
    root = tmp_path_factory.mktemp("tradingview")
    scanner.inject(*[HttpFault(status=429, retry_after=0) for _ in range(3)])
    chart.inject(BASELINE, ChartFault("drop", at_chunk=0))
    _run(root, repo_root, scanner, chart)
    return root


def test_every_step_writes_its_artifacts(first_run: Path, repo_root: Path) -> None:
    run_dir = _run_dir(first_run)
    ledger = read_json(run_dir / "run_manifest.json")
    registry = build_registry()
    for step in registry.steps():
        assert ledger["steps"][step.name.value]["status"] == "completed", step.name
        for name in step.writes:
            assert (run_dir / name.rstrip("/")).exists(), f"{step.name}: {name}"
    assert (first_run / "data" / "runs" / "latest").resolve() == run_dir.resolve()
    screens = load_screens(repo_root / "configs" / "scanners")
    scans = sorted(p.stem for p in (run_dir / "scans").glob("*.json"))
    assert scans == sorted(s.name for s in screens)
    summary = read_json(run_dir / "discovery_summary.json")
    failures = {d["scanner"]: d["error"] for d in summary["scanners_detail"] if d["error"]}
    assert not failures, f"screens TradingView would refuse or fail: {failures}"
    assert summary["candidates"] > 0
    table = read_parquet(run_dir / "screener.parquet")
    assert table.index.is_monotonic_increasing and table.index.is_unique
    assert {"close", "Value.Traded", "Perf.1M", "asset_class", "market"} <= set(table.columns)
    universe = read_json(run_dir / "universe.json")
    assert BASELINE in universe["symbols"] and len(universe["symbols"]) > 10
    assert universe["excluded"] == {}


def test_faults_are_absorbed_and_the_cache_is_whole(
    first_run: Path, scanner: FakeScannerServer, chart: FakeChartServer
) -> None:
    assert scanner.pending_faults() == 0
    assert chart.pending_faults(BASELINE) == 0
    (folder,) = (first_run / "data" / "lakehouse").glob("tradingview-*")  # its namespace
    lake = Lakehouse(folder)
    files = sorted(folder.glob("*_1d.parquet"))
    assert len(files) > 10
    for symbol in lake.symbols():
        stored = validate_candles(lake.read(symbol), source=symbol)
        first = stored["session"].iloc[0].date()
        expected = chart.expected_frame(symbol, first, DEFAULT_AS_OF)
        pd.testing.assert_frame_equal(stored.reset_index(drop=True), expected, obj=symbol)
    assert lake.coverage(BASELINE).last == DEFAULT_AS_OF


def test_second_run_on_a_fresh_cache_asks_the_chart_nothing(
    first_run: Path,
    repo_root: Path,
    scanner: FakeScannerServer,
    chart: FakeChartServer,
) -> None:
    before = _artifacts(first_run)
    series, connections = chart.stats.create_series, chart.stats.connections
    _run(first_run, repo_root, scanner, chart)
    assert (chart.stats.create_series, chart.stats.connections) == (series, connections)
    ledger = read_json(_run_dir(first_run) / "run_manifest.json")
    for step in ("light_prep", "deep_prep"):  # reused (its counts are the first run's) or fresh
        record = ledger["steps"][step]
        assert record["reused"] or record["counts"]["provider_calls"] == 0, step
    after = _artifacts(first_run)
    assert sorted(after) == sorted(before)
    differing = [name for name in before if after[name] != before[name]]
    for name, part in CACHE_DEPENDENT.items():
        if name in differing:
            old, new = json.loads(before[name]), json.loads(after[name])
            assert {**old, part: None} == {**new, part: None}, name
            differing.remove(name)
    assert not differing, f"artifacts differ on the fresh cache: {differing}"
