"""What the files provider dropped, repaired or guessed reaches the run's health report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.data.files import FilesProvider
from clusterfolio.data.health import FindingKind, audit_listing, auditor_from_settings
from clusterfolio.data.source_health import source_markdown, source_report
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.manifest import DataSettings, FilesSettings, SyntheticSettings


@pytest.fixture(scope="module")
def provider(shared_data: Path) -> FilesProvider:
    return FilesProvider(FilesSettings(root=str(shared_data)), Path("/"))


@pytest.mark.realdata
def test_real_quirks_per_listing_and_session(provider: FilesProvider) -> None:
    symbols = ["BITSTAMP:ETHUSD", "FX_IDC:GBPUSD", "BITFINEX:REPUSD", "BINANCE:BTCUSDT"]
    report = source_report(provider, symbols)
    assert report is not None and report["provider"] == "files"
    by = report["by_listing"]
    eth = {e["kind"]: e for e in by["BITSTAMP:ETHUSD"]}
    assert eth["leading_zero_prices"]["action"] == "dropped"
    assert eth["leading_zero_prices"]["session"] < "2017-11-09"
    gbp = [e for e in by["FX_IDC:GBPUSD"] if e["kind"] == "ohlc_repaired"]
    assert gbp and all(e["session"] and e["action"] == "repaired" for e in gbp)
    rep = [e for e in by["BITFINEX:REPUSD"] if e["kind"] == "duplicate_session"]
    assert len(rep) == 18 and all(e["action"] == "dropped" for e in rep)
    btc = {e["kind"] for e in by["BINANCE:BTCUSDT"]}
    assert "inferred" in btc  # unix seconds converted, by magnitude
    # the CDD export shadowed by the TradingView cache is a file not used, named
    assert any("Binance_BTCUSDT_d" in e["file"] for e in report["files"])
    text = source_markdown(report)
    assert "| BITFINEX:REPUSD | 18 |" in text and "Files not used:" in text


@pytest.mark.realdata
def test_yahoo_decimal_commas_and_m6_clean(provider: FilesProvider) -> None:
    report = source_report(provider, ["FX_IDC:USDTRY", "AMEX:IVV", "NYSE:AMZN"])
    assert report is not None
    assert "AMEX:IVV" not in report["by_listing"]  # M6 files are clean
    (amzn,) = report["by_listing"]["NYSE:AMZN"]  # a Nasdaq stock: the exchange is a guess
    assert amzn["action"] == "guessed" and "exchange NYSE assumed" in amzn["detail"]
    closes = provider.history("FX_IDC:USDTRY")["close"]
    assert 2.5 < closes.iloc[0] < 3.5  # decimal commas read as decimals, not thousands


def test_synthetic_provider_has_no_source_report() -> None:
    synthetic = SyntheticProvider(
        SyntheticSettings(n_equities=11, n_etfs=4), as_of=date(2024, 1, 2)
    )
    assert source_report(synthetic, []) is None
    assert source_markdown(None) == ""


def _candles(closes: np.ndarray) -> pd.DataFrame:
    days = pd.bdate_range("2023-01-02", periods=len(closes))
    return pd.DataFrame(
        {
            "session": days,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": 1.0,
        }
    )


def _audit(closes: np.ndarray, move: float | None) -> list[FindingKind]:
    frame = _candles(closes)
    health = audit_listing(
        "NYSE:X", frame, pd.DatetimeIndex(frame["session"]), min_days_floor=10,
        stale_tolerance_sessions=1, spike_zscore=12.0, required_sessions=len(frame),
        corporate_action_move=move,
    )  # fmt: skip
    return [f.kind for f in health.findings]


def test_one_way_drop_is_a_suspected_corporate_action() -> None:
    rng = np.random.default_rng(3)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))
    closes[60:] *= 0.45  # -55%, never back: an unadjusted spin-off
    assert FindingKind.SUSPECT_CORPORATE_ACTION in _audit(closes, 0.4)
    assert FindingKind.SUSPECT_CORPORATE_ACTION not in _audit(closes, 0.6)  # below threshold
    assert FindingKind.SUSPECT_CORPORATE_ACTION not in _audit(closes, None)  # not checked


def test_reverting_spike_and_split_are_not_corporate_actions() -> None:
    rng = np.random.default_rng(4)
    base = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))
    spike = base.copy()
    spike[60] *= 0.4  # one bad print, back the next day
    assert FindingKind.SUSPECT_CORPORATE_ACTION not in _audit(spike, 0.4)
    split = base.copy()
    split[60:] *= 0.5  # a 2:1 split: reported as such
    kinds = _audit(split, 0.4)
    assert (
        FindingKind.SUSPECTED_SPLIT in kinds and FindingKind.SUSPECT_CORPORATE_ACTION not in kinds
    )


def test_threshold_per_asset_class_from_settings() -> None:
    rng = np.random.default_rng(5)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))
    closes[60:] *= 0.45
    frame = _candles(closes)
    audit = auditor_from_settings(
        DataSettings(min_days_floor=10),
        required_sessions=len(frame),
        asset_classes={"NYSE:X": "equity", "BINANCE:X": "crypto"},
    )
    expected = pd.DatetimeIndex(frame["session"])
    equity = audit("NYSE:X", frame, expected)
    crypto = audit("BINANCE:X", frame, expected)
    assert any(f.kind is FindingKind.SUSPECT_CORPORATE_ACTION for f in equity.findings)
    assert equity.ok  # kept by default, listed in the report
    assert not any(f.kind is FindingKind.SUSPECT_CORPORATE_ACTION for f in crypto.findings)


def test_suspects_listed_for_the_strict_gate() -> None:
    from clusterfolio.data.health import HealthReport, corporate_action_suspects

    rng = np.random.default_rng(6)
    calm = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))
    cut = calm.copy()
    cut[60:] *= 0.45
    audit = auditor_from_settings(DataSettings(min_days_floor=10), required_sessions=120)
    frames = {"NYSE:CUT": _candles(cut), "NYSE:CALM": _candles(calm)}
    report = HealthReport(
        tuple(audit(s, f, pd.DatetimeIndex(f["session"])) for s, f in frames.items())
    )
    suspects = corporate_action_suspects(report)
    assert list(suspects) == ["NYSE:CUT"] and "never reverts" in suspects["NYSE:CUT"]
    assert report["NYSE:CUT"].ok  # listed, kept unless strict_health
    assert "SUSPECT_CORPORATE_ACTION" in report.to_markdown()


def test_a_clean_source_says_so(tmp_path: Path) -> None:
    days = pd.bdate_range("2022-01-03", periods=5).strftime("%Y-%m-%d")
    pd.DataFrame({"date": days, "close": [1.0, 2, 3, 4, 5]}).to_csv(tmp_path / "X.csv", index=False)
    (tmp_path / "listings.csv").write_text("symbol,exchange,asset_class\nX,NYSE,equity\n")
    provider = FilesProvider(FilesSettings(root=str(tmp_path), patterns=["X.csv"]), Path("/"))
    report = source_report(provider, ["NYSE:X"])
    assert report is not None and report["by_action"] == {"repaired": 1}  # close-only: noted
    assert "close-only" in report["by_listing"]["NYSE:X"][0]["detail"]
