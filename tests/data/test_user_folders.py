"""A user's own folder of daily prices: names, layouts, sidecar, quirks, each one reported."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.data.files import FilesProvider
from clusterfolio.data.formats import FileFormatError, IssueKind, Layout, detect_layout
from clusterfolio.data.naming import name_from_file
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.manifest import FilesSettings

ALL_TIME = (date(1990, 1, 1), date(2100, 1, 1))
TICKERS = ("AAPL", "MSFT", "SPY", "TLT", "BTCUSD", "EURUSD")


def _closes(n: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {t: 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))) for t in TICKERS}


def _long_frame(n: int = 30) -> pd.DataFrame:
    days = pd.bdate_range("2021-01-04", periods=n)
    rows = [
        (d.date().isoformat(), t, c * 0.99, c * 1.01, c * 0.98, c, 1e6)
        for t, closes in _closes(n).items()
        for d, c in zip(days, closes, strict=True)
    ]
    return pd.DataFrame(rows, columns=["Date", "Ticker", "Open", "High", "Low", "Close", "Volume"])


def _provider(root: Path, **kwargs: object) -> FilesProvider:
    return FilesProvider(FilesSettings(root=str(root), patterns=["**/*"], **kwargs), Path("/"))


def _kinds(provider: FilesProvider) -> set[IssueKind]:
    return {i.kind for i in provider.problems()}


@pytest.mark.parametrize(
    ("name", "exchange", "ticker"),
    [
        ("AAPL.csv", "", "AAPL"),
        ("AAPL_1d.parquet", "", "AAPL"),
        ("NYSE_AAPL_1d.csv", "NYSE", "AAPL"),
        ("NYSE:AAPL.csv", "NYSE", "AAPL"),
        ("NASDAQ-MSFT.csv.gz", "NASDAQ", "MSFT"),
        ("BRK_B.csv", "", "BRK_B"),
        ("aapl_daily.csv", "", "AAPL"),
    ],
)
def test_file_names(name: str, exchange: str, ticker: str) -> None:
    guess = name_from_file(name)
    assert (guess.exchange, guess.ticker) == (exchange, ticker)


def test_plain_names_per_symbol_files_every_format(tmp_path: Path) -> None:
    frame = _long_frame()
    for ticker, name in [
        ("AAPL", "AAPL.csv"),
        ("MSFT", "NASDAQ_MSFT_1d.csv.gz"),
        ("SPY", "AMEX:SPY.csv"),
        ("TLT", "TLT_1d.parquet"),
        ("BTCUSD", "BTCUSD.csv"),
        ("EURUSD", "EURUSD.csv"),
    ]:
        one = frame.loc[frame["Ticker"] == ticker].drop(columns="Ticker")
        if name.endswith(".parquet"):
            one.to_parquet(tmp_path / name)
        elif name.endswith(".gz"):
            (tmp_path / name).write_bytes(gzip.compress(one.to_csv(index=False).encode()))
        else:
            one.to_csv(tmp_path / name, index=False)
    (tmp_path / "README.md").write_text("my prices\n")
    provider = _provider(tmp_path)
    listings = {x.symbol: x for x in provider.listings()}
    assert sorted(listings) == [
        "AMEX:SPY", "AMEX:TLT", "FILES:BTCUSD", "FX_IDC:EURUSD", "NASDAQ:MSFT", "NYSE:AAPL",
    ]  # fmt: skip
    assert listings["AMEX:TLT"].asset_class is AssetClass.BOND
    assert listings["FILES:BTCUSD"].calendar is CalendarKind.CRYPTO_24_7
    assert listings["FX_IDC:EURUSD"].asset_class is AssetClass.FOREX
    # every inference is recorded against its listing
    inferred = {i.symbol for i in provider.problems() if i.kind is IssueKind.INFERRED}
    assert {"NYSE:AAPL", "AMEX:TLT", "FILES:BTCUSD"} <= inferred
    note = next(
        i.detail for i in provider.problems() if i.symbol == "NYSE:AAPL" and "exchange" in i.detail
    )
    assert "US equity assumed" in note
    assert len(provider.candles("NYSE:AAPL", *ALL_TIME)) == 30
    assert [r.status for r in provider.reports() if r.file.endswith("README.md")] == ["ignored"]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_long_file_one_listing_per_symbol(tmp_path: Path, suffix: str) -> None:
    frame = _long_frame().rename(columns={"Ticker": "SYMBOL"})  # case-insensitive
    path = tmp_path / f"prices{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    provider = _provider(tmp_path)
    assert len(provider.listings()) == len(TICKERS)
    aapl = provider.candles("NYSE:AAPL", *ALL_TIME)
    expected = frame.loc[frame["SYMBOL"] == "AAPL", "Close"].to_numpy()
    np.testing.assert_allclose(aapl["close"].to_numpy(), expected, rtol=1e-12)
    layout = [i.detail for i in provider.problems() if i.detail.startswith("layout")]
    assert layout == ["layout long: symbol column 'SYMBOL' and a close column"]
    # no duplicate sessions: each listing has its own rows
    assert not [i for i in provider.problems() if i.kind is IssueKind.DUPLICATE_SESSION]


def test_long_file_configurable_symbol_column_and_quirks(tmp_path: Path) -> None:
    frame = _long_frame().rename(columns={"Ticker": "code"})
    frame.loc[3, "Open"] = np.nan  # a valid close but no open: kept
    frame = pd.concat([frame, frame.iloc[[5]]])  # a duplicated session
    frame.to_csv(tmp_path / "all.csv", index=False)
    provider = _provider(tmp_path, symbol_columns=["code"])
    aapl = provider.candles("NYSE:AAPL", *ALL_TIME)
    assert len(aapl) == 30
    assert aapl["open"].iloc[3] == aapl["close"].iloc[3] == frame["Close"].iloc[3]
    problems = provider.problems_by_listing(["NYSE:AAPL"])["NYSE:AAPL"]
    filled = [i for i in problems if i.kind is IssueKind.OHLC_FILLED]
    assert [(i.symbol, i.session, i.row) for i in filled] == [("AAPL", "2021-01-07", 5)]
    dup = [i for i in problems if i.kind is IssueKind.DUPLICATE_SESSION]
    assert [(i.session, i.row) for i in dup] == [("2021-01-11", len(frame) + 1)]


def test_wide_file_of_closes(tmp_path: Path) -> None:
    days = pd.bdate_range("2021-01-04", periods=30)
    wide = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), **_closes()})
    wide.loc[:4, "MSFT"] = np.nan  # not trading yet
    wide.to_csv(tmp_path / "closes.csv", index=False)
    provider = _provider(tmp_path)
    assert len(provider.listings()) == len(TICKERS)
    msft = provider.candles("NYSE:MSFT", *ALL_TIME)
    assert len(msft) == 25 and (msft["open"] == msft["close"]).all()
    assert (msft["volume"] == 0).all()
    gaps = provider.problems_by_listing(["NYSE:MSFT"])["NYSE:MSFT"]
    assert any("5 empty cells" in i.detail for i in gaps)
    assert any("wide file of closes" in i.detail for i in provider.problems())


def test_ambiguous_file_is_a_clear_error(tmp_path: Path) -> None:
    text = "Date,Close,AAPL,MSFT\n2021-01-04,1,2,3\n"
    (tmp_path / "mixed.csv").write_text(text)
    (tmp_path / "nosym.csv").write_text("Date,Ticker,Volume\n2021-01-04,AAPL,3\n")
    provider = _provider(tmp_path)
    assert provider.listings() == []
    errors = {Path(i.file).name: i for i in provider.problems()}
    assert errors["mixed.csv"].kind is IssueKind.AMBIGUOUS_LAYOUT
    assert "['Date', 'Close', 'AAPL', 'MSFT']" in errors["mixed.csv"].detail
    assert "data.files.layout" in errors["mixed.csv"].detail
    assert "symbol column 'Ticker' but no close" in errors["nosym.csv"].detail
    # the setting settles it
    forced = _provider(tmp_path, layout="wide")
    assert {x.ticker for x in forced.listings()} >= {"AAPL", "MSFT"}


def test_sidecar_metadata(tmp_path: Path) -> None:
    frame = _long_frame()
    frame.to_csv(tmp_path / "prices.csv", index=False)
    (tmp_path / "listings.csv").write_text(
        "Symbol,Exchange,Asset Class,Sector,Industry,Market Cap,Description,Currency\n"
        "AAPL,NASDAQ,stock,Technology,Consumer Electronics,3.4e12,Apple Inc.,USD\n"
        "BTCUSD,COINBASE,crypto,,,,Bitcoin,USD\n"
        "TLT,NASDAQ,fixed income,,,,20+ Year Treasury,USD\n"
        "MSFT,NASDAQ,weird,,,,Microsoft,USD\n"
    )
    provider = _provider(tmp_path)
    listings = {x.ticker: x for x in provider.listings()}
    aapl = listings["AAPL"]
    assert aapl.symbol == "NASDAQ:AAPL" and aapl.sector == "Technology"
    assert aapl.industry == "Consumer Electronics" and aapl.market_cap == 3.4e12
    assert aapl.description == "Apple Inc." and aapl.extra["currency"] == "USD"
    assert listings["BTCUSD"].symbol == "COINBASE:BTCUSD"
    assert listings["BTCUSD"].calendar is CalendarKind.CRYPTO_24_7
    assert listings["TLT"].asset_class is AssetClass.BOND
    # nothing inferred for what the sidecar states; a bad class is reported and inferred
    assert not [i for i in provider.problems() if i.symbol == "NASDAQ:AAPL"]
    bad = [i for i in provider.problems() if i.kind is IssueKind.METADATA]
    assert [(i.row, "weird" in i.detail) for i in bad] == [(5, True)]


def test_default_exchange_setting(tmp_path: Path) -> None:
    _long_frame().to_csv(tmp_path / "p.csv", index=False)
    provider = _provider(tmp_path, default_exchange="xetr")
    assert {x.exchange for x in provider.listings()} == {"XETR"}


@settings(max_examples=25, deadline=None)
@given(
    names=st.lists(
        st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True), min_size=1, max_size=6, unique=True
    ),
    close=st.booleans(),
)
def test_layout_detection_is_total(names: list[str], close: bool) -> None:
    """Any header gets a layout or a clear error naming the file and the columns."""
    columns = ["Date", *(["Close"] if close else []), *names]
    try:
        info = detect_layout(Path("f.csv"), columns, symbol_columns=["symbol"])
    except FileFormatError as exc:
        assert exc.issue.kind is IssueKind.AMBIGUOUS_LAYOUT and str(columns) in exc.issue.detail
        return
    assert info.layout in (Layout.PER_SYMBOL, Layout.WIDE)
    if info.layout is Layout.WIDE:
        assert not close and list(info.value_columns) == names
