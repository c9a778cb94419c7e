"""Fault: no network, a read-only lakehouse, dates no calendar covers, bars from the future."""

from __future__ import annotations

import os
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from faultkit import AS_OF, SYMBOLS, fingerprint, provider_for, source_of, store_for, tiny_data
from typer.testing import CliRunner

from clusterfolio.cli import app
from clusterfolio.data.schema import Listing
from clusterfolio.data.sync import sync_listings
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.data.tradingview.provider import TradingViewProvider
from clusterfolio.errors import ProviderError
from clusterfolio.manifest import TradingViewSettings


def _refusing_port() -> int:
    with socket.socket() as probe:  # bound then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_network_fails_once_clearly_and_leaves_the_cache_untouched(lake_root: Path) -> None:
    data = tiny_data()
    source = source_of(data, lake_root)
    synthetic = provider_for(data)
    listings: list[Listing] = [synthetic.metadata(s) for s in SYMBOLS]
    sync_listings(
        store_for(lake_root, source),
        synthetic,
        listings,
        as_of=AS_OF,
        n_sessions=40,
        state_dir=lake_root / source.namespace,
    )
    before = fingerprint(lake_root)
    port = _refusing_port()
    settings = TradingViewSettings(max_retries=5, timeout_s=20.0)
    with TradingViewProvider(
        settings,
        scanner_url=f"http://127.0.0.1:{port}",
        websocket_url=f"ws://127.0.0.1:{port}/socket.io/websocket",
    ) as tv:
        expected = f"TradingView unreachable: cannot connect to 127.0.0.1:{port}"
        with pytest.raises(ProviderError, match=expected):
            tv.screen({"columns": ["name"], "markets": ["america"], "range": [0, 3]})
        later = [listing.symbol for listing in listings]
        with pytest.raises(ProviderError, match=expected):  # the circuit is open: no retry
            tv.candles_many(later, AS_OF - timedelta(days=5), AS_OF, strict=False)
        assert tv.scanner.http_requests == 0 and tv.scanner.retries == 0
        assert tv.reachability.open
    assert fingerprint(lake_root) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_a_read_only_lakehouse_is_one_line(tmp_path: Path, repo_root: Path) -> None:
    lake = tmp_path / "data" / "lakehouse"
    lake.mkdir(parents=True)
    lake.chmod(0o555)
    try:
        result = CliRunner().invoke(app, _run_args(tmp_path, repo_root, "2026-11-20"))
    finally:
        lake.chmod(0o755)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "(read-only or full disk?)" in result.output


def test_a_read_only_disk_error_is_one_line(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clusterfolio.pipeline import runner

    def refuse(self, run_dir):  # type: ignore[no-untyped-def]
        raise OSError(30, "Read-only file system", str(run_dir / "run_manifest.json"))

    monkeypatch.setattr(runner.RunLedger, "save", refuse)
    result = CliRunner().invoke(app, _run_args(tmp_path, repo_root, "2026-11-20"))
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: cannot write ") and "Read-only file system" in line
    assert line.endswith("(read-only or full disk?)")


def _run_args(root: Path, repo_root: Path, as_of: str) -> list[str]:
    manifest = str(repo_root / "configs" / "manifest.json")
    return ["run", "-q", "--as-of", as_of, "--root", str(root), "--manifest", manifest]


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("1999-06-30", "is outside the dates the calendars cover (2000-01-01 .. 2035-12-31)"),
        ("2099-01-02", "is after today"),
    ],
)
def test_dates_outside_the_calendars_or_after_today_are_one_line(
    tmp_path: Path, repo_root: Path, as_of: str, message: str
) -> None:
    result = CliRunner().invoke(app, _run_args(tmp_path, repo_root, as_of))
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: --as-of {as_of} ") and message in line
    assert not (tmp_path / "data").exists()


def test_the_synthetic_provider_never_serves_a_bar_after_today(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import clusterfolio.data.synthetic as synthetic

    provider = SyntheticProvider(tiny_data().synthetic, as_of=AS_OF)
    today = date(2026, 11, 13)

    class _Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return datetime(2026, 11, 13, 12, tzinfo=UTC)

    monkeypatch.setattr(synthetic, "datetime", _Clock)
    frame = provider.candles("BINANCE:BTCUSDT", date(2026, 11, 1), AS_OF)
    assert frame["session"].max().date() == today  # as-of 2026-11-20 is a week ahead


def test_a_full_disk_during_accept_state_is_one_line_and_keeps_the_state(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit"))
    import audit_factory as af

    import clusterfolio.audit.state as state_module

    af.write_run(tmp_path)
    manifest = ["--root", str(tmp_path), "--manifest", str(repo_root / "configs/manifest.json")]
    assert CliRunner().invoke(app, ["accept-state", *manifest]).exit_code == 0
    lake = tmp_path / "data" / "lakehouse"
    before = fingerprint(lake)

    def full(path, obj):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(state_module, "atomic_write_json", full)
    result = CliRunner().invoke(app, ["accept-state", "--profile", "barbell", *manifest])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: cannot write ") and "No space left on device" in line
    after = fingerprint(lake)
    state = "portfolio_actual_state.json"
    assert after[state] == before[state]  # the accepted state is unchanged
    assert {k: after[k] for k in before} == before  # nothing stored changed
    assert set(after.values()) == set(before.values())  # at most a backup copy of it was added
