"""Tests of the ``files`` provider and its format readers (real data and synthetic bad files)."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clusterfolio.data.files import FilesProvider
from clusterfolio.data.formats import (
    FileFormatError,
    FileIssue,
    IssueKind,
    SourceFormat,
    detect_format,
    read_candle_file,
)
from clusterfolio.data.provider import Provider
from clusterfolio.data.schema import CANDLE_COLUMNS
from clusterfolio.data.vendors import split_pair
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import ProviderError, UnknownSymbolError
from clusterfolio.manifest import FilesSettings

CDD = "crypto/cryptodatadownload"
ALL_TIME = (date(1990, 1, 1), date(2100, 1, 1))


@pytest.fixture(scope="module")
def provider(shared_data: Path) -> FilesProvider:
    """One provider over the real data for the module (files are parsed once, lazily)."""
    return FilesProvider(FilesSettings(root=str(shared_data)), Path("/nonexistent"))


def issues_of(provider: FilesProvider, path: Path, kind: IssueKind) -> list[FileIssue]:
    provider.read_file(path)
    return [i for i in provider.problems(parse_all=False) if i.file == str(path) and i.kind is kind]


def history(provider: FilesProvider, symbol: str) -> pd.DataFrame:
    return provider.candles(symbol, *ALL_TIME)


# ----------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_is_a_provider_and_discovers_every_default_pattern(provider: FilesProvider) -> None:
    assert isinstance(provider, Provider)
    assert provider.name == "files"
    listings = provider.listings()
    symbols = [x.symbol for x in listings]
    assert symbols == sorted(set(symbols))
    # 100 M6 files + 34 CryptoDataDownload (one shadowed by the cache) + 10 FX + 1 cache
    assert len(listings) == 144
    formats = {s.format for s in provider.sources().values()}
    assert formats == {
        SourceFormat.M6,
        SourceFormat.CRYPTODATADOWNLOAD,
        SourceFormat.YAHOO_FX,
        SourceFormat.TRADINGVIEW_PARQUET,
    }


@pytest.mark.realdata
def test_parsing_is_lazy_and_cached(shared_data: Path) -> None:
    fresh = FilesProvider(FilesSettings(root=str(shared_data)), Path("/"))
    fresh.listings()
    assert not [i for i in fresh.problems(parse_all=False) if i.kind is IssueKind.OHLC_REPAIRED]
    first = fresh.candles("FX_IDC:EURUSD", *ALL_TIME)
    assert [i for i in fresh.problems(parse_all=False) if i.kind is IssueKind.OHLC_REPAIRED]
    assert fresh.read_file(shared_data / "forex/yahoo/EURUSD=X.csv.gz") is fresh.read_file(
        "forex/yahoo/EURUSD=X.csv.gz"
    )
    pd.testing.assert_frame_equal(first, fresh.candles("FX_IDC:EURUSD", *ALL_TIME))
    assert fresh.stats.candle_calls == 2 and fresh.stats.by_symbol == {"FX_IDC:EURUSD": 2}


@pytest.mark.realdata
def test_each_format_loads(provider: FilesProvider) -> None:
    firsts = {"m6": "AMEX:IVV", "cryptodatadownload": "KRAKEN:ETHUSD", "yahoo_fx": "FX_IDC:USDJPY"}
    firsts["tradingview_parquet"] = "BINANCE:BTCUSDT"
    for fmt, symbol in firsts.items():
        assert provider.sources()[symbol].format == fmt
        frame = history(provider, symbol)
        assert len(frame) > 800 and list(frame.columns) == list(CANDLE_COLUMNS)
        assert frame["session"].dtype == np.dtype("datetime64[ns]")
        assert all(
            t == np.float64 for t in frame[["open", "high", "low", "close", "volume"]].dtypes
        )


@pytest.mark.slow
@pytest.mark.realdata
def test_every_file_loads(provider: FilesProvider) -> None:
    reports = provider.reports()
    assert len(reports) == 145
    assert {r.status for r in reports} == {"listed", "shadowed"}
    for report in reports:
        assert report.rows and report.rows > 100, report.file
    for listing in provider.listings():
        frame = history(provider, listing.symbol)  # validated by the reader
        assert list(frame.columns) == list(CANDLE_COLUMNS)
        assert frame["session"].is_monotonic_increasing and frame["session"].is_unique
        prices = frame[["open", "high", "low", "close"]]
        assert (prices > 0).all().all()
        assert (frame["high"] >= prices.max(axis=1)).all() and (
            frame["low"] <= prices.min(axis=1)
        ).all()
    assert not [i for i in provider.problems() if i.severity == "error"]


@pytest.mark.realdata
def test_binance_mixed_units_and_duplicated_day(provider: FilesProvider, shared_data: Path) -> None:
    path = shared_data / CDD / "binance/Binance_BTCUSDT_d.csv.gz"
    frame = provider.read_file(path).frame
    sessions = frame["session"]
    assert sessions.is_monotonic_increasing and sessions.is_unique
    assert sessions.min() == pd.Timestamp("2017-08-17") and sessions.max() == pd.Timestamp(
        "2020-12-30"
    )
    assert len(frame) == 1232  # 1233 rows, one duplicated day
    assert (sessions.diff().dropna() == pd.Timedelta(days=1)).all()
    mixed = issues_of(provider, path, IssueKind.MIXED_TIME_UNITS)
    assert (
        len(mixed) == 1
        and "124 rows in s" in mixed[0].detail
        and "1109 rows in ms" in mixed[0].detail
    )
    dup = issues_of(provider, path, IssueKind.DUPLICATE_SESSION)
    assert len(dup) == 1
    assert dup[0].row == 1112 and "2017-12-18" in dup[0].detail and "row 1111" in dup[0].detail
    kept = frame.set_index("session").loc["2017-12-18"]
    assert kept["open"] == 18860.04 and kept["volume"] == 10624.633071  # the first in file order


@pytest.mark.realdata
def test_the_cache_wins_over_the_vendor_export(provider: FilesProvider, shared_data: Path) -> None:
    cache = shared_data / "crypto/tradingview/BINANCE_BTCUSDT_1d.parquet"
    source = provider.sources()["BINANCE:BTCUSDT"]
    assert source.path == cache and source.format is SourceFormat.TRADINGVIEW_PARQUET
    frame = history(provider, "BINANCE:BTCUSDT")
    assert len(frame) == 3048
    assert frame["session"].iloc[0] == pd.Timestamp("2017-08-17")
    assert frame["session"].iloc[-1] == pd.Timestamp("2025-12-20")
    assert (frame["session"].diff().dropna() == pd.Timedelta(days=1)).all()
    shadowed = issues_of(
        provider,
        shared_data / CDD / "binance/Binance_BTCUSDT_d.csv.gz",
        IssueKind.DUPLICATE_LISTING,
    )
    assert len(shadowed) == 1 and str(cache) in shadowed[0].detail
    listing = provider.metadata("BINANCE:BTCUSDT")
    assert listing.asset_class is AssetClass.CRYPTO and listing.calendar is CalendarKind.CRYPTO_24_7
    assert (listing.base, listing.quote) == ("BTC", "USDT")


@pytest.mark.realdata
def test_kraken_day_first_dates(provider: FilesProvider) -> None:
    frame = history(provider, "KRAKEN:BTCUSD")
    assert frame["session"].is_monotonic_increasing and frame["session"].is_unique
    assert frame["session"].iloc[0] == pd.Timestamp("2013-10-06")
    assert frame["session"].iloc[-1] == pd.Timestamp("2019-09-14")
    assert len(frame) == 2158
    row = frame.set_index("session").loc["2019-09-13"]  # "13/09/2019" in the file
    assert row["close"] == 10362.1 and row["high"] == 12000.0
    gaps = [
        i
        for i in provider.problems(parse_all=False)
        if "Kraken_BTCUSD" in i.file and i.kind is IssueKind.GAP
    ]
    assert len(gaps) == 1 and "2019-03-20..2019-03-31" in gaps[0].detail


@pytest.mark.realdata
def test_bitstamp_pre_listing_zeros_dropped_and_reported(
    provider: FilesProvider, shared_data: Path
) -> None:
    frame = history(provider, "BITSTAMP:ETHUSD")
    assert frame["session"].iloc[0] == pd.Timestamp("2017-11-09")
    assert (frame[["open", "high", "low", "close"]] > 0).all().all()
    lead = issues_of(
        provider,
        shared_data / CDD / "bitstamp/Bitstamp_ETHUSD_d.csv.gz",
        IssueKind.LEADING_ZERO_PRICES,
    )
    assert len(lead) == 1 and lead[0].detail.startswith("988 leading rows")
    assert "2015-02-25..2017-11-08" in lead[0].detail and lead[0].row == 1440


@pytest.mark.realdata
def test_bitfinex_rep_duplicates_and_gaps(provider: FilesProvider, shared_data: Path) -> None:
    path = shared_data / CDD / "bitfinex/Bitfinex_REPUSD_d.csv.gz"
    dups = issues_of(provider, path, IssueKind.DUPLICATE_SESSION)
    assert len(dups) == 18 and all(i.row for i in dups)
    gaps = issues_of(provider, path, IssueKind.GAP)
    missing = sum(int(i.detail.split()[0]) for i in gaps)
    assert missing == 21
    frame = history(provider, "BITFINEX:REPUSD")
    assert frame["session"].is_unique and frame["session"].is_monotonic_increasing


@pytest.mark.realdata
def test_crypto_symbols_venues_and_pairs(provider: FilesProvider) -> None:
    futures = provider.metadata("BINANCE:BTCUSDT.P")
    assert (futures.base, futures.quote, futures.extra["contract"]) == ("BTC", "USDT", "perpetual")
    pair = provider.metadata("BITFINEX:ETHBTC")
    assert (pair.base, pair.quote) == ("ETH", "BTC")
    exchanges = {x.exchange for x in provider.listings() if x.asset_class is AssetClass.CRYPTO}
    assert exchanges == {"BINANCE", "BITFINEX", "BITSTAMP", "COINBASE", "KRAKEN"}
    # the same coin agrees across venues (the README states ~0.5%)
    closes = pd.concat(
        {
            s: history(provider, s).set_index("session")["close"]
            for s in ("BITSTAMP:BTCUSD", "COINBASE:BTCUSD")
        },
        axis=1,
    ).dropna()
    assert len(closes) > 1000
    assert (closes["BITSTAMP:BTCUSD"] / closes["COINBASE:BTCUSD"] - 1).abs().median() < 0.005


@pytest.mark.realdata
def test_yahoo_decimal_commas_and_repaired_rows(provider: FilesProvider, shared_data: Path) -> None:
    frame = history(provider, "FX_IDC:EURUSD")
    assert frame["close"].dtype == np.float64
    assert frame["close"].between(0.95, 1.26).all()  # parity in 2022, 1.25 in 2018
    first = frame.iloc[0]
    assert first["session"] == pd.Timestamp("2016-01-19")
    np.testing.assert_allclose(first["close"], 1.0895025730133057, rtol=1e-15)
    np.testing.assert_allclose(first["high"], 1.0910003185272217, rtol=1e-15)
    assert (frame["volume"] == 0).all()
    path = shared_data / "forex/yahoo/EURUSD=X.csv.gz"
    repaired = issues_of(provider, path, IssueKind.OHLC_REPAIRED)
    raw = pd.read_csv(path, sep=";", decimal=",", float_precision="round_trip")
    outside = raw[
        (raw["Close"] > raw["High"])
        | (raw["Close"] < raw["Low"])
        | (raw["Open"] > raw["High"])
        | (raw["Open"] < raw["Low"])
    ]
    assert len(repaired) == len(outside) > 0
    assert sorted(i.row for i in repaired if i.row) == [
        int(k) + 2 for k in outside.index
    ]  # line numbers
    by_day = frame.set_index("session")
    for _, row in outside.iterrows():
        bar = by_day.loc[row["Date"]]
        assert bar["high"] == max(row["Open"], row["High"], row["Low"], row["Close"])
        assert bar["low"] == min(row["Open"], row["High"], row["Low"], row["Close"])
        assert bar["close"] == row["Close"]
    listing = provider.metadata("FX_IDC:EURUSD")
    assert listing.asset_class is AssetClass.FOREX and listing.calendar is CalendarKind.FOREX_24_5
    assert (listing.base, listing.quote) == ("EUR", "USD")


@pytest.mark.realdata
def test_m6_listings_metadata_and_calendars(provider: FilesProvider) -> None:
    m6 = [x for x in provider.listings() if x.extra.get("format") == "m6"]
    assert len(m6) == 100
    london = [x for x in m6 if x.exchange == "LSE"]
    assert len(london) == 10 and all(x.calendar is CalendarKind.LSE for x in london)
    assert all(x.calendar is CalendarKind.NYSE for x in m6 if x.exchange != "LSE")
    high = provider.metadata("LSE:HIGH")
    assert high.asset_class is AssetClass.BOND and high.extra["vendor_ticker"] == "HIGH.L"
    ivv = provider.metadata("AMEX:IVV")
    assert ivv.asset_class is AssetClass.ETF and ivv.description == "iShares Core S&P 500 ETF"
    abbv = provider.metadata("NYSE:ABBV")
    assert abbv.asset_class is AssetClass.EQUITY and (abbv.sector, abbv.industry) == (
        "Health Care",
        "Pharmaceuticals",
    )
    assert provider.metadata("AMEX:IAU").asset_class is AssetClass.COMMODITY
    assert provider.metadata("AMEX:TLT").asset_class is AssetClass.BOND
    assert provider.metadata("NYSE:BF.B").description == "Brown-Forman"
    classes = {x.asset_class for x in m6}
    assert classes == {AssetClass.EQUITY, AssetClass.ETF, AssetClass.BOND, AssetClass.COMMODITY}


@pytest.mark.realdata
def test_m6_prices_are_total_return_adjusted(provider: FilesProvider) -> None:
    frame = history(provider, "AMEX:IVV")
    first = frame.iloc[0]  # 2017-04-17,234.58,236.06,234.36,236.06,215.3288,2642232
    factor = 215.3288 / 236.06
    assert first["session"] == pd.Timestamp("2017-04-17")
    np.testing.assert_allclose(first["close"], 215.3288, rtol=1e-12)
    np.testing.assert_allclose(first["open"], 234.58 * factor, rtol=1e-12)
    np.testing.assert_allclose(first["low"], 234.36 * factor, rtol=1e-12)
    assert first["volume"] == 2642232.0
    np.testing.assert_allclose(frame["close"].iloc[-1], 445.2, rtol=1e-12)
    sega = history(provider, "LSE:SEGA")
    assert (sega["volume"] == 0).sum() == 159


@pytest.mark.realdata
def test_candles_window_and_errors(provider: FilesProvider) -> None:
    before = provider.stats.candle_calls
    window = provider.candles("AMEX:XLK", date(2020, 3, 2), date(2020, 3, 6))
    assert window["session"].dt.date.tolist() == [date(2020, 3, d) for d in range(2, 7)]
    assert provider.candles("AMEX:XLK", date(2030, 1, 1), date(2031, 1, 1)).empty
    assert provider.candles("AMEX:XLK", date(2020, 3, 6), date(2020, 3, 2)).empty
    assert provider.stats.candle_calls == before + 3
    window.loc[0, "close"] = -1.0  # a copy: the cache is not affected
    assert provider.candles("AMEX:XLK", date(2020, 3, 2), date(2020, 3, 2))["close"].iloc[0] > 0
    with pytest.raises(UnknownSymbolError, match="NYSE:NOPE"):
        provider.candles("NYSE:NOPE", *ALL_TIME)
    with pytest.raises(UnknownSymbolError, match="NYSE:NOPE"):
        provider.metadata("NYSE:NOPE")
    with pytest.raises(NotImplementedError):
        provider.screen({"columns": ["close"]})


@pytest.mark.realdata
def test_problem_report_is_json_ready(provider: FilesProvider) -> None:
    history(provider, "BITFINEX:REPUSD")
    reports = provider.reports(parse_all=False)
    entry = next(r for r in reports if r.file.endswith("Bitfinex_REPUSD_d.csv.gz")).as_dict()
    assert entry["symbol"] == "BITFINEX:REPUSD" and entry["status"] == "listed"
    assert entry["first"] == "2018-02-05" and entry["issues"][0]["file"] == entry["file"]


# ----------------------------------------------------------------------------- synthetic files


def synthetic(tmp_path: Path, files: dict[str, str | bytes], **kwargs: object) -> FilesProvider:
    root = tmp_path / "data"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and name.endswith(".gz"):
            path.write_bytes(gzip.compress(content.encode()))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    settings = FilesSettings(
        root="data", patterns=["**/*.csv", "**/*.csv.gz", "**/*.parquet"], **kwargs
    )
    return FilesProvider(settings, tmp_path)


GOOD = (
    "Date,Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,12,10,11,200\n"
)


def test_missing_columns_reported_with_file_and_row(tmp_path: Path) -> None:
    provider = synthetic(
        tmp_path, {"NYSE_ABC_1d.csv": "Date,Open,High,Close\n2020-01-02,1,2,1.5\n"}
    )
    assert provider.listings() == []
    (issue,) = provider.problems()
    assert issue.file == str(tmp_path / "data" / "NYSE_ABC_1d.csv")
    assert issue.kind is IssueKind.MISSING_COLUMNS and issue.row == 1 and "low" in issue.detail
    assert issue.severity == "error"


def test_garbage_rows_reported_and_skipped(tmp_path: Path) -> None:
    text = (
        "# exported by hand\n"
        "Date,Open,High,Low,Close,Volume\n"
        "2020-01-02,10,11,9,10.5,100\n"
        "2020-01-03,abc,11,9,10.5,100\n"  # line 4: no open, a valid close: kept
        "hello world\n"  # line 5: wrong number of fields
        "2020-13-45,10,11,9,10.5,100\n"  # line 6: not a date
        "\n"
        "2020-01-06,10,11,9,0,100\n"  # line 8: zero price after trading began
        "2020-01-07,10,11,9,10.5,\n"  # line 9: no volume
        "2020-01-08,10,11,9,10.5,100\n"
    )
    provider = synthetic(tmp_path, {"NYSE_GARB_1d.csv": text})
    frame = provider.candles("NYSE:GARB", *ALL_TIME)
    assert frame["session"].dt.day.tolist() == [2, 3, 7, 8]
    assert frame["close"].tolist()[1] == 10.5 and frame["open"].tolist()[1] == 10.5
    found = {(i.row, i.kind) for i in provider.problems() if i.kind is not IssueKind.INFERRED}
    assert found == {
        (4, IssueKind.OHLC_FILLED),
        (5, IssueKind.BAD_ROW),
        (6, IssueKind.BAD_ROW),
        (8, IssueKind.NONPOSITIVE_PRICE),
        (9, IssueKind.BAD_VOLUME),
    }
    assert all(i.file.endswith("NYSE_GARB_1d.csv") for i in provider.problems())
    assert frame["volume"].tolist() == [100.0, 100.0, 0.0, 100.0]


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    provider = synthetic(
        tmp_path,
        {
            "empty.csv": "",
            "blank.csv.gz": "\n\n",
            "NYSE_HEAD_1d.csv": "Date,Open,High,Low,Close,Volume\n",
        },
    )
    assert [x.symbol for x in provider.listings()] == ["NYSE:HEAD"]
    assert provider.candles("NYSE:HEAD", *ALL_TIME).empty
    problems = provider.problems()
    by_file = {Path(i.file).name: i for i in problems}
    assert by_file["empty.csv"].kind is IssueKind.EMPTY
    assert by_file["blank.csv.gz"].kind is IssueKind.EMPTY
    assert by_file["NYSE_HEAD_1d.csv"].kind is IssueKind.EMPTY
    assert {r.status for r in provider.reports()} == {"skipped", "listed"}


def test_unknown_and_corrupt_files_never_break_the_provider(tmp_path: Path) -> None:
    good = pa.table(
        {
            "timestamp": [1.5778368e9, 1.5779232e9],
            "open": [1.0, 2.0],
            "high": [2.0, 3.0],
            "low": [0.5, 1.0],
            "close": [1.5, 2.5],
            "volume": [1.0, 1.0],
        }
    )
    root = tmp_path / "data" / "crypto"
    root.mkdir(parents=True)
    pq.write_table(good, root / "BINANCE_ABCUSDT_1d.parquet")
    provider = synthetic(
        tmp_path,
        {
            "notes.csv": "just some words\nand more words\n",
            "crypto/BINANCE_BAD_1d.parquet": b"PAR1 this is not parquet",
            "truncated.csv.gz": gzip.compress(GOOD.encode() * 50)[:60],
        },
    )
    assert [x.symbol for x in provider.listings()] == ["BINANCE:ABCUSDT"]
    frame = provider.candles("BINANCE:ABCUSDT", *ALL_TIME)
    assert frame["session"].dt.date.tolist() == [date(2020, 1, 1), date(2020, 1, 2)]
    kinds = {Path(i.file).name: i.kind for i in provider.problems()}
    assert kinds["notes.csv"] is IssueKind.UNKNOWN_FORMAT
    assert kinds["BINANCE_BAD_1d.parquet"] is IssueKind.UNREADABLE
    assert kinds["truncated.csv.gz"] in (IssueKind.UNREADABLE, IssueKind.EMPTY)
    listing = provider.metadata("BINANCE:ABCUSDT")
    assert listing.asset_class is AssetClass.CRYPTO and listing.quote == "USDT"


def test_a_file_failing_mid_way_is_a_provider_error(tmp_path: Path) -> None:
    body = "Date,Open,High,Low,Close,Volume\n" + "".join(
        f"2020-{m:02d}-{d:02d},10,11,9,10.5,100\n" for m in range(1, 13) for d in range(1, 29)
    )
    blob = gzip.compress(body.encode())
    provider = synthetic(tmp_path, {"NYSE_CUT_1d.csv.gz": blob[: len(blob) - 20]})
    assert [x.symbol for x in provider.listings()] == ["NYSE:CUT"]
    with pytest.raises(ProviderError, match=r"NYSE_CUT_1d\.csv\.gz"):
        provider.candles("NYSE:CUT", *ALL_TIME)
    assert [i.kind for i in provider.problems() if i.kind is not IssueKind.INFERRED] == [
        IssueKind.UNREADABLE
    ]
    assert provider.reports()[0].status == "failed"


def test_generic_files_with_a_column_map(tmp_path: Path) -> None:
    text = (
        "Time;Px Open;Px High;Px Low;Px Last;Adj;Qty\n"
        "1577923200000;10;11;9;10,5;10;100\n"  # unix milliseconds, 2020-01-02
        "1578009600000;10,5;12;10;11;11;200\n"
    )
    column_map = {
        "Px Open": "open",
        "Px High": "high",
        "Px Low": "low",
        "Px Last": "close",
        "qty": "volume",
    }
    provider = synthetic(
        tmp_path,
        {
            "stocks/NASDAQ_AAPL_1d.csv": text.replace(",", "."),
            "fx/eurusd.csv": GOOD,
            "misc/thing.csv": GOOD,
        },
        column_map=column_map,
    )
    aapl = provider.candles("NASDAQ:AAPL", *ALL_TIME)
    assert aapl["session"].dt.date.tolist() == [date(2020, 1, 2), date(2020, 1, 3)]
    assert aapl["close"].tolist() == [10.5, 11.0] and aapl["volume"].tolist() == [100.0, 200.0]
    assert provider.metadata("NASDAQ:AAPL").asset_class is AssetClass.EQUITY
    fx = provider.metadata("FX_IDC:EURUSD")  # a plain name: the exchange is inferred
    assert fx.asset_class is AssetClass.FOREX and fx.calendar is CalendarKind.FOREX_24_5
    assert provider.metadata("NYSE:THING").calendar is CalendarKind.NYSE


def test_column_map_prefers_the_mapped_column(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10.5,5.25,100\n"
    provider = synthetic(tmp_path, {"X_ADJ_1d.csv": text}, column_map={"Adj Close": "close"})
    bar = provider.candles("X:ADJ", *ALL_TIME).iloc[0]
    assert bar["close"] == 5.25 and bar["low"] == 5.25  # widened to hold the close


def test_duplicate_symbols_first_file_wins(tmp_path: Path) -> None:
    provider = synthetic(
        tmp_path, {"a/NYSE_DUP_1d.csv": GOOD, "b/NYSE_DUP_1d.csv": GOOD.replace("10.5", "10.6")}
    )
    assert provider.sources()["NYSE:DUP"].path == tmp_path / "data/a/NYSE_DUP_1d.csv"
    (issue,) = [i for i in provider.problems() if i.kind is not IssueKind.INFERRED]
    assert issue.kind is IssueKind.DUPLICATE_LISTING and issue.file.endswith("b/NYSE_DUP_1d.csv")


def test_missing_root_is_a_provider_error(tmp_path: Path) -> None:
    provider = FilesProvider(FilesSettings(root="nowhere"), tmp_path)
    with pytest.raises(ProviderError, match="nowhere"):
        provider.listings()


def test_detect_format_and_reader_directly(tmp_path: Path) -> None:
    path = tmp_path / "Kraken_ABCUSD_d.csv"
    path.write_text(
        "Date,Symbol,Open,High,Low,Close,Volume ABC,Volume USD\n"
        "02/01/2020,ABCUSD,1,2,0.5,1.5,10,15\n"
        "31/12/2019,ABCUSD,1,2,0.5,1,10,10\n"
    )
    assert detect_format(path) is SourceFormat.CRYPTODATADOWNLOAD
    parsed = read_candle_file(path, calendar=CalendarKind.CRYPTO_24_7)
    assert parsed.frame["session"].dt.date.tolist() == [date(2019, 12, 31), date(2020, 1, 2)]
    assert [i.kind for i in parsed.issues] == [IssueKind.GAP]
    with pytest.raises(FileFormatError) as info:
        read_candle_file(tmp_path / "absent.csv")
    assert info.value.issue.kind is IssueKind.UNREADABLE


def test_split_pair() -> None:
    assert split_pair("ETHBTC") == ("ETH", "BTC")
    assert split_pair("BTCUSDT") == ("BTC", "USDT")
    assert split_pair("XLM/USD") == ("XLM", "USD")
    assert split_pair("WHAT") == ("", "")
