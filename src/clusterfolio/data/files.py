"""The ``files`` provider: listings and candles from a folder of CSV or Parquet files.

Discovery
---------
Files are found with ``settings.patterns`` (glob patterns, ``**`` allowed) under
``settings.root`` (resolved once, against ``root_dir`` unless absolute: the Makefile's ``DATA``
is made absolute from the current directory), in pattern order then path order.
Each file's format is recognised from its name and first lines
(:func:`clusterfolio.data.formats.detect_format`); a file that is empty, unreadable or of no
known format is reported in :meth:`FilesProvider.problems` and skipped. Metadata tables beside
the candles (``*universe*.csv``, such as ``M6_Universe.csv``) are read for metadata, not as
candles. Candles are parsed lazily, on the first :meth:`~FilesProvider.candles` call for a
listing, and cached in the instance.

Symbols
-------
``m6`` (``etfs/m6_universe/IVV.csv.gz``)
    ``.L`` funds -> ``LSE:<TICKER>`` on the London calendar; other ETFs -> ``AMEX:<TICKER>``
    (TradingView's name for NYSE Arca, where US ETFs trade); stocks -> ``NYSE:<TICKER>``; all
    US listings on the NYSE calendar. The files do not say where a US stock is listed, so the
    Nasdaq stocks of M6 appear as ``NYSE:``; pass ``exchange_overrides`` (ticker -> exchange)
    to correct them. A share-class dash becomes a dot (``BF-B`` -> ``NYSE:BF.B``). The
    universe table gives the class (``Stock`` -> equity; ``ETF`` -> bond for *Fixed Income*,
    commodity for *Commodities*, else ETF), the name, the sector and the industry.
``cryptodatadownload`` (``crypto/cryptodatadownload/<venue>/Bitfinex_ETHBTC_d.csv.gz``)
    ``<VENUE>:<PAIR>``, venue from the file name or its folder (BINANCE, BITFINEX, BITSTAMP,
    COINBASE, KRAKEN); Binance USDT-M futures -> ``BINANCE:<PAIR>.P``. Base and quote from the
    pair (``ETHBTC`` -> ETH / BTC). Crypto, 24/7 calendar.
``yahoo_fx`` (``forex/yahoo/EURUSD=X.csv.gz``)
    ``FX_IDC:<PAIR>``, forex, 24/5 calendar.
Any other file (``AAPL.csv``, ``AAPL_1d.parquet``, ``NYSE_AAPL_1d.csv``, ``NYSE:AAPL.csv``)
    Its layout is detected (:mod:`clusterfolio.data.formats.layouts`: one listing, a long file with a
    symbol column, or a wide file of closes) and recorded. The exchange and the ticker come
    from the file name or the key (:mod:`clusterfolio.data.naming`), completed by a metadata
    sidecar ``listings.csv`` in the folder or above it (:mod:`clusterfolio.data.sidecar`),
    ``settings.default_exchange`` and the symbol grammar (:mod:`clusterfolio.data.inference`);
    every inference is an ``inferred`` issue of the listing. Files that are not data (no
    ``.csv``/``.parquet``/``.gz``/``.txt`` suffix) are ``ignored``.
The equal-weighted universe
    :data:`~clusterfolio.data.baseline.UNIVERSE_SYMBOL` is served by :meth:`candles` and
    :meth:`metadata` (a possible market baseline), not listed by :meth:`listings`.

Two files giving the same symbol: a file named after its symbol (a candle cache) wins over a
vendor export, then the first discovered; the other is reported as ``duplicate_listing`` and
stays readable with :meth:`FilesProvider.read_file`.
"""

from __future__ import annotations

import glob
import threading
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.baseline import UNIVERSE_SYMBOL, equal_weight_index, universe_listing
from clusterfolio.data.file_sources import FileReport, FileSource, _Entry, _key_guess
from clusterfolio.data.formats import (
    FileFormatError,
    FileIssue,
    IssueKind,
    Layout,
    LayoutInfo,
    ParsedFile,
    Severity,
    SourceFormat,
    detect_format,
    detect_layout,
    generic_header,
    read_candle_file,
    read_multi,
)
from clusterfolio.data.inference import infer_listing
from clusterfolio.data.naming import DATA_SUFFIXES, NameGuess, name_from_file, strip_data_suffixes
from clusterfolio.data.provider import ProviderStats
from clusterfolio.data.schema import Listing, empty_candles
from clusterfolio.data.sidecar import SidecarRow, is_sidecar, read_sidecar
from clusterfolio.data.vendors import (
    cdd_listing,
    m6_listing,
    read_universe_table,
    split_pair,
)
from clusterfolio.enums import AssetClass, CalendarKind, ProviderName
from clusterfolio.errors import ProviderError, UnknownSymbolError
from clusterfolio.manifest import FilesSettings

__all__ = ["FileReport", "FileSource", "FilesProvider"]


def _as_datetime64(value: date | datetime | str | pd.Timestamp) -> np.datetime64:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize().as_unit("ns").to_datetime64()


class FilesProvider:
    """Listings and daily candles from a folder of CSV or Parquet files.

    Parameters
    ----------
    settings : FilesSettings
        ``root`` (folder), ``patterns`` (globs under the root) and ``column_map`` (source
        column -> canonical column, for generic files).
    root_dir : Path
        Folder a relative ``settings.root`` is resolved against (the project root).
    exchange_overrides : mapping, optional
        Vendor ticker (``AMZN``, ``HIGH.L``) -> exchange, to correct inferred exchanges.
    default_exchange : str
        Exchange of generic files whose name and sidecar state none, when
        ``settings.default_exchange`` is empty; empty: inferred from the class
        (:func:`clusterfolio.data.naming.exchange_for`).
    """

    def __init__(
        self,
        settings: FilesSettings,
        root_dir: Path,
        *,
        exchange_overrides: Mapping[str, str] | None = None,
        default_exchange: str = "",
    ):
        self.name: str = ProviderName.FILES.value
        self.stats = ProviderStats()
        self.settings = settings
        root = Path(settings.root).expanduser()
        self.root = (root if root.is_absolute() else Path(root_dir) / root).resolve()
        self.exchange_overrides = dict(exchange_overrides or {})
        self.default_exchange = (settings.default_exchange or default_exchange).upper()
        self._lock = threading.RLock()
        self._discovered = False
        self._sources: dict[str, FileSource] = {}
        self._all_files: list[Path] = []
        self._entries: dict[Path, _Entry] = {}
        self._discovery_issues: list[FileIssue] = []
        self._parsed: dict[Path, ParsedFile | FileFormatError] = {}
        self._multi: dict[Path, dict[str, ParsedFile]] = {}
        self._universes: dict[Path, dict[str, dict[str, str]]] = {}
        self._sidecars: dict[Path, dict[str, SidecarRow]] = {}
        self._universe_frame: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"FilesProvider(root={str(self.root)!r})"

    # -- discovery ---------------------------------------------------------------------

    def _relpath(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _issue(
        self,
        path: Path,
        row: int | None,
        kind: IssueKind,
        detail: str,
        severity: Severity,
        symbol: str | None = None,
    ) -> None:
        self._discovery_issues.append(FileIssue(str(path), row, kind, detail, severity, symbol))

    def _discover(self) -> None:
        with self._lock:
            if self._discovered:
                return
            if not self.root.is_dir():
                raise ProviderError(f"files provider: root folder {self.root} does not exist")
            self._sources, self._all_files, self._entries = {}, [], {}
            self._discovery_issues = []
            seen: set[Path] = set()
            for pattern in self.settings.patterns:
                # root_dir keeps glob characters in the root's own name literal
                for name in sorted(glob.glob(pattern, root_dir=self.root, recursive=True)):
                    path = self.root / name
                    if path.is_file() and path not in seen:
                        seen.add(path)
                        self._all_files.append(path)
            for path in self._all_files:
                self._discover_file(path)
            self._discovered = True

    def _discover_file(self, path: Path) -> None:
        name = path.name.lower()
        if is_sidecar(path) or ("universe" in name and name.endswith(".csv")):
            self._entries[path] = _Entry("metadata")
            return
        if not name.endswith(DATA_SUFFIXES):
            self._entries[path] = _Entry("ignored")
            return
        try:
            fmt = detect_format(path, self.settings.column_map, check_columns=False)
            layout = self._layout(path, fmt)
        except FileFormatError as exc:
            self._discovery_issues.append(exc.issue)
            self._entries[path] = _Entry("skipped")
            return
        if layout is not None and layout.layout is not Layout.PER_SYMBOL:
            self._discover_multi(path, fmt, layout)
            return
        self._add_source(path, self._infer_source(path, fmt), fmt)

    def _layout(self, path: Path, fmt: SourceFormat) -> LayoutInfo | None:
        """The layout of a generic file (recorded); None for the vendor formats."""
        if fmt not in (SourceFormat.GENERIC_CSV, SourceFormat.GENERIC_PARQUET):
            return None
        names, line = generic_header(path, self.settings.column_map)
        info = detect_layout(
            path, names, symbol_columns=self.settings.symbol_columns,
            forced=self.settings.layout, line=line,
        )  # fmt: skip
        if info.layout is Layout.PER_SYMBOL:
            detect_format(path, self.settings.column_map)  # the required columns, named
        else:
            self._issue(path, None, IssueKind.INFERRED,
                        f"layout {info.layout.value}: {info.reason}", Severity.INFO)  # fmt: skip
        return info

    def _discover_multi(self, path: Path, fmt: SourceFormat, layout: LayoutInfo) -> None:
        """Read a long or wide file now: one source per key."""
        names, _ = generic_header(path, self.settings.column_map)
        guesses = {}

        def calendar(key: str) -> CalendarKind:
            guesses[key] = self._generic_source(path, fmt, _key_guess(key), key)
            return guesses[key].listing.calendar

        parsed, issues = read_multi(
            path, fmt, layout, names, column_map=self.settings.column_map, calendar_of=calendar
        )
        self._discovery_issues.extend(issues)
        self._multi[path] = parsed
        self._entries[path] = _Entry("listed", None, fmt, None, layout)
        for key in parsed:
            self._add_source(path, guesses[key], fmt)

    def _add_source(self, path: Path, source: FileSource, fmt: SourceFormat) -> None:
        symbol = source.listing.symbol
        current = self._sources.get(symbol)
        if current is not None and not (
            source.named_after_symbol and not current.named_after_symbol
        ):
            self._issue(
                path, None, IssueKind.DUPLICATE_LISTING,
                f"{symbol} is already served by {current.path}: this file is not used for it",
                Severity.WARNING,
            )  # fmt: skip
            if source.key is None:
                self._entries[path] = _Entry("shadowed", symbol, fmt, source.listing.calendar)
            return
        if current is not None:
            self._issue(
                current.path, None, IssueKind.DUPLICATE_LISTING,
                f"{symbol} is served by {path} (named after the symbol): this file is not used for it",
                Severity.WARNING,
            )  # fmt: skip
            if current.key is None:
                self._entries[current.path].status = "shadowed"
        self._sources[symbol] = source
        if source.key is None:
            self._entries[path] = _Entry("listed", symbol, fmt, source.listing.calendar)

    # -- listing inference ---------------------------------------------------------------

    def _report(
        self, path: Path, row: int | None, kind: IssueKind, detail: str, severity: Severity
    ) -> None:
        self._issue(path, row, kind, detail, severity)

    def _universe(self, folder: Path) -> dict[str, dict[str, str]]:
        if folder not in self._universes:
            self._universes[folder] = read_universe_table(folder, self._report)
        return self._universes[folder]

    def _infer_source(self, path: Path, fmt: SourceFormat) -> FileSource:
        rel = self._relpath(path)
        extra = {"source": rel, "format": fmt.value}
        stem = strip_data_suffixes(path.name)
        if fmt is SourceFormat.M6:
            return FileSource(
                path,
                rel,
                fmt,
                m6_listing(
                    path,
                    stem,
                    extra,
                    table=self._universe(path.parent),
                    overrides=self.exchange_overrides,
                    report=self._report,
                ),
            )
        if fmt is SourceFormat.CRYPTODATADOWNLOAD:
            listing = cdd_listing(path, stem, extra, self._report)
            if listing is not None:
                return FileSource(path, rel, fmt, listing)
        if fmt is SourceFormat.YAHOO_FX:
            pair = stem.split("=")[0].upper()
            base, quote = (pair[:3], pair[3:]) if len(pair) == 6 else split_pair(pair)
            listing = Listing(
                symbol=f"FX_IDC:{pair}", asset_class=AssetClass.FOREX, calendar=CalendarKind.FOREX_24_5,
                description=f"{base}/{quote}" if base else pair, base=base, quote=quote, extra=extra,
            )  # fmt: skip
            return FileSource(path, rel, fmt, listing)
        return self._generic_source(path, fmt, name_from_file(path.name), None)

    def _sidecar(self, folder: Path) -> dict[str, SidecarRow]:
        """Sidecar rows of ``folder``, over those of the folders above it up to the root."""
        if folder in self._sidecars:
            return self._sidecars[folder]
        rows: dict[str, SidecarRow] = {}
        if self.root in folder.parents:
            rows = dict(self._sidecar(folder.parent))
        for path in sorted(p for p in folder.glob("*") if p.is_file() and is_sidecar(p)):
            try:
                found, problems = read_sidecar(path)
            except (OSError, ValueError) as exc:
                self._issue(path, None, IssueKind.UNREADABLE,
                            f"listings sidecar unreadable ({exc})", Severity.WARNING)  # fmt: skip
                continue
            for line, message in problems:
                self._issue(path, line, IssueKind.METADATA, message, Severity.WARNING)
            rows.update(found)
        self._sidecars[folder] = rows
        return rows

    def _generic_source(
        self, path: Path, fmt: SourceFormat, guess: NameGuess, key: str | None
    ) -> FileSource:
        rel = self._relpath(path)
        extra = {"source": rel, "format": fmt.value}
        if key is not None:
            extra["key"] = key
        inferred = infer_listing(
            guess, sidecar=self._sidecar(path.parent), default_exchange=self.default_exchange,
            folders=Path(rel).parts[:-1], extra=extra,
        )  # fmt: skip
        symbol = inferred.listing.symbol
        for note in inferred.notes:
            self._issue(path, None, IssueKind.INFERRED, f"{symbol}: {note}", Severity.INFO, symbol)
        return FileSource(path, rel, fmt, inferred.listing, inferred.named, key)

    # -- parsing ---------------------------------------------------------------------------

    def _parse_source(self, source: FileSource) -> ParsedFile | FileFormatError:
        """The parsed candles of one source (a whole file, or one key of a long/wide file)."""
        if source.key is not None:
            return self._multi[source.path][source.key]
        return self._parse(source.path, source.format, source.listing.calendar)

    def _parse(
        self, path: Path, fmt: SourceFormat | None, calendar: CalendarKind | None
    ) -> ParsedFile | FileFormatError:
        with self._lock:
            if path in self._parsed:
                return self._parsed[path]
        # parsed outside the lock, so that threads read several files at once; a file read
        # twice by two threads gives the same result, and the first one stored is kept
        result: ParsedFile | FileFormatError
        try:
            result = read_candle_file(
                path, fmt, column_map=self.settings.column_map, calendar=calendar
            )
        except FileFormatError as exc:
            result = exc
        with self._lock:
            return self._parsed.setdefault(path, result)

    def read_file(self, path: str | Path) -> ParsedFile:
        """Parse one file (cached), whether or not it serves a listing.

        Raises
        ------
        FileFormatError
            The file cannot be read as candles (also listed in :meth:`problems`).
        """
        path = Path(path)
        if not path.is_absolute():
            path = self.root / path
        self._discover()
        entry = self._entries.get(path, _Entry("outside"))
        result = self._parse(path, entry.format, entry.calendar)
        if isinstance(result, FileFormatError):
            raise result
        return result

    # -- provider protocol -----------------------------------------------------------------

    def listings(self) -> list[Listing]:
        """Return one listing per symbol found, sorted by symbol."""
        self._discover()
        return [self._sources[s].listing for s in sorted(self._sources)]

    def sources(self) -> dict[str, FileSource]:
        """Return ``symbol -> FileSource`` (the file serving each listing)."""
        self._discover()
        return dict(sorted(self._sources.items()))

    def _source(self, symbol: str) -> FileSource:
        self._discover()
        try:
            return self._sources[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"files provider: unknown symbol {symbol!r} ({len(self._sources)} listings under "
                f"{self.root})"
            ) from None

    def metadata(self, symbol: str) -> Listing:
        """Return the listing of ``symbol`` (raises :class:`UnknownSymbolError`).

        :data:`~clusterfolio.data.baseline.UNIVERSE_SYMBOL` is served too (not in
        :meth:`listings`): the equal-weighted universe, a possible market baseline.
        """
        if symbol == UNIVERSE_SYMBOL:
            return universe_listing()
        return self._source(symbol).listing

    def _universe_index(self) -> pd.DataFrame:
        with self._lock:
            if self._universe_frame is None:
                histories, calendars = {}, {}
                for symbol, source in self.sources().items():
                    result = self._parse_source(source)
                    if isinstance(result, ParsedFile):
                        histories[symbol] = result.frame
                        calendars[symbol] = source.listing.calendar
                self._universe_frame = equal_weight_index(histories, calendars)
            return self._universe_frame

    def history(self, symbol: str) -> pd.DataFrame:
        """Return the whole cleaned history of ``symbol`` (a copy of the cached frame)."""
        if symbol == UNIVERSE_SYMBOL:
            return self._universe_index().copy()
        source = self._source(symbol)
        result = self._parse_source(source)
        if isinstance(result, FileFormatError):
            raise ProviderError(
                f"files provider: {symbol} cannot be read: {result.issue}"
            ) from result
        return result.frame.copy()

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Return the candles of ``symbol`` for sessions in ``[start, end]`` (may be empty).

        Raises
        ------
        UnknownSymbolError
            No file provides ``symbol``.
        ProviderError
            The file serving ``symbol`` cannot be read (the problem is in :meth:`problems`).
        """
        source = None if symbol == UNIVERSE_SYMBOL else self._source(symbol)
        self.stats.record_candles(symbol)
        if source is None:
            frame = self._universe_index()
        else:
            result = self._parse_source(source)
            if isinstance(result, FileFormatError):
                raise ProviderError(
                    f"files provider: {symbol} cannot be read: {result.issue}"
                ) from result
            frame = result.frame
        if frame.empty:
            return empty_candles()
        sessions = frame["session"].to_numpy()
        lo, hi = _as_datetime64(start), _as_datetime64(end)
        mask = (sessions >= lo) & (sessions <= hi)
        return frame.loc[mask].reset_index(drop=True)

    def screen(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Not available: discovery evaluates screens locally from candles."""
        raise NotImplementedError("the files provider has no remote scanner; screen locally")

    # -- problems ------------------------------------------------------------------------

    def _parse_all(self) -> None:
        self._discover()
        for path in self._all_files:
            entry = self._entries[path]
            if entry.status in ("listed", "shadowed") and path not in self._multi:
                self._parse(path, entry.format, entry.calendar)

    def problems(self, *, parse_all: bool = True) -> list[FileIssue]:
        """Return every problem found, per file and row.

        Parameters
        ----------
        parse_all : bool
            Parse every discovered file first (cached); when false, report only what discovery
            and earlier calls have met.
        """
        with self._lock:
            if parse_all:
                self._parse_all()
            else:
                self._discover()
            out = list(self._discovery_issues)
            for path in self._all_files:
                for parsed in self._multi.get(path, {}).values():
                    out.extend(parsed.issues)
                result = self._parsed.get(path)
                if isinstance(result, ParsedFile):
                    out.extend(result.issues)
                elif isinstance(result, FileFormatError):
                    out.extend(i for i in [result.issue] if i not in out)
            return out

    def reports(self, *, parse_all: bool = True) -> list[FileReport]:
        """Return one :class:`FileReport` per discovered file, in discovery order."""
        issues = self.problems(parse_all=parse_all)
        by_file: dict[str, list[FileIssue]] = {}
        for issue in issues:
            by_file.setdefault(issue.file, []).append(issue)
        out: list[FileReport] = []
        for path in self._all_files:
            entry = self._entries[path]
            fmt = None if entry.format is None else entry.format.value
            report = FileReport(
                str(path), entry.symbol, fmt, entry.status, issues=by_file.get(str(path), [])
            )
            result = self._parsed.get(path)
            multi = self._multi.get(path)
            if multi is not None:
                report.format = f"{fmt} ({entry.layout.layout.value if entry.layout else ''})"
                report.rows = sum(len(p.frame) for p in multi.values())
                report.symbol = f"{len(multi)} listings"
            elif isinstance(result, FileFormatError):
                report.status = "failed"
            elif isinstance(result, ParsedFile):
                report.rows = len(result.frame)
                if len(result.frame):
                    report.first = result.frame["session"].iloc[0].date()
                    report.last = result.frame["session"].iloc[-1].date()
            out.append(report)
        return out

    def problems_by_listing(self, symbols: list[str]) -> dict[str, list[FileIssue]]:
        """Every problem of the files serving ``symbols``, per listing (parsing them if needed).

        A file's own problems (format, layout) are under each listing it serves; a listing
        the provider does not serve (the equal-weighted universe) has none.
        """
        out: dict[str, list[FileIssue]] = {}
        with self._lock:
            self._discover()
            for symbol in symbols:
                source = self._sources.get(symbol)
                if source is None:
                    continue
                result = self._parse_source(source)
                found = [
                    i
                    for i in self._discovery_issues
                    if i.symbol == symbol or (i.symbol is None and i.file == str(source.path))
                ]
                if isinstance(result, ParsedFile):
                    found += result.issues
                else:
                    found += [result.issue]
                out[symbol] = list(dict.fromkeys(found))
        return out

    def file_problems(self) -> list[FileIssue]:
        """Problems of files that serve no listing (skipped, unreadable, ambiguous, shadowed)."""
        self._discover()
        serving = {str(s.path) for s in self._sources.values()}
        return [i for i in self._discovery_issues if i.symbol is None and i.file not in serving]
