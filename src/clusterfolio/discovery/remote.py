"""Discovery on a remote scanner: the screens are evaluated by the provider (TradingView).

For a provider with a remote scanner (:func:`has_remote_scanner`), the discovery step sends each
screen's request body (:meth:`~clusterfolio.discovery.screens.Screen.to_request`, unchanged)
through ``provider.screen`` and TradingView applies the filters, the sort and the range. No
candle is fetched for discovery: the screener columns come with the rows.

:func:`remote_exports` returns

- one :class:`~clusterfolio.discovery.evaluate.ScanExport` per screen, in the order given:
  ``ok`` (rows), ``empty`` (no row) or ``failed`` (the error, e.g. the scanner still answering
  429 after its retries, or a column its field list does not know). A failing scanner is
  reported and the others go on; when every scanner fails a
  :class:`~clusterfolio.errors.DataError` lists each failure;
- the screener table (``screener.parquet``): one row per symbol found by any screen (index
  ``symbol``, sorted), the columns returned (first seen first, in screen order), then
  ``asset_class`` and ``market`` of the first screen that found the symbol (as the local table
  carries them). A value missing in one screen's row is taken from the next screen that has it.

Determinism
-----------
Rows are ordered as the local evaluator orders them
(:func:`~clusterfolio.discovery.evaluate.evaluate_screen`): by the screen's ``sortBy`` in its
order with missing values last and ties by symbol, or by symbol when the screen has no sort. A
symbol the scanner returns twice (pages shifting under a live market) is kept once, at its first
position. Numeric columns are ``float64``; a column mixing kinds of values keeps numbers and
texts as text. So the same scanner answers give byte-identical artifacts.

The columns the Alpha Discovery Score reads
(:data:`~clusterfolio.discovery.evaluate.SCORE_COLUMNS`) are not added to the bodies: a screen
must request them (the ``base/common`` preset does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol, TypeGuard, runtime_checkable

import numpy as np
import pandas as pd

from clusterfolio.data.schema import Listing
from clusterfolio.discovery.evaluate import (
    ScanExport,
    ScanStatus,
    raise_if_all_failed,
    screen_export,
)
from clusterfolio.discovery.screens import Screen
from clusterfolio.errors import ConfigError, DataError

__all__ = [
    "RemoteScanner",
    "has_remote_scanner",
    "remote_exports",
    "remote_listings",
    "rows_frame",
    "screener_table_of",
]

#: Columns the remote table adds after the returned ones (the local table carries them too).
ADDED_COLUMNS: tuple[str, ...] = ("asset_class", "market")


@runtime_checkable
class RemoteScanner(Protocol):
    """A provider whose scanner evaluates screens itself (TradingView)."""

    remote_scanner: bool

    def screen(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Rows ``{"symbol": ..., column: value}`` of a ``/scan`` body, in server order."""
        ...

    def metadata_many(self, symbols: Sequence[str], *, strict: bool = True) -> dict[str, Listing]:
        """Listings of many symbols with few requests."""
        ...


def has_remote_scanner(provider: object) -> TypeGuard[RemoteScanner]:
    """Whether ``provider`` evaluates screens remotely (True for the ``tradingview`` provider).

    Parameters
    ----------
    provider : object
        A :class:`~clusterfolio.data.provider.Provider`.

    Returns
    -------
    bool
        True when it has ``remote_scanner = True``, ``screen`` and ``metadata_many`` (a type
        guard: the provider is then a :class:`RemoteScanner`).
    """
    return isinstance(provider, RemoteScanner) and provider.remote_scanner is True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float | np.floating) and not np.isfinite(value)


def _normalise(column: pd.Series) -> pd.Series:
    """``float64`` when every present value is a number; texts when kinds are mixed."""
    present = [v for v in column.tolist() if not _is_missing(v)]
    if not present or all(_is_number(v) for v in present):
        return pd.Series(
            [np.nan if _is_missing(v) else float(v) for v in column.tolist()],
            index=column.index,
            dtype="float64",
            name=column.name,
        )
    kinds = {type(v) for v in present}
    if len(kinds) == 1 or all(isinstance(v, str) for v in present):
        return column.astype(object)
    return pd.Series(
        [None if _is_missing(v) else (v if isinstance(v, str) else str(v)) for v in column],
        index=column.index,
        dtype=object,
        name=column.name,
    )


def _order(frame: pd.DataFrame, screen: Screen) -> pd.DataFrame:
    """Rows in the local evaluator's order: sort key (missing last), ties by symbol."""
    sort = screen.request.sort
    symbols = frame.index.astype(str)
    if sort is None or sort.sortBy not in frame.columns:
        order = np.argsort(symbols.to_numpy(), kind="mergesort")
        return frame.iloc[order]
    key = frame[sort.sortBy]
    keys = pd.DataFrame({"key": key.to_numpy(), "symbol": symbols.to_numpy()})
    keys["missing"] = keys["key"].isna()
    numeric = pd.to_numeric(keys["key"], errors="coerce")
    if numeric.notna().sum() == keys["key"].notna().sum():
        keys["key"] = numeric
    else:
        keys["key"] = keys["key"].astype(str)
    ordered = keys.sort_values(
        ["missing", "key", "symbol"],
        ascending=[True, sort.sortOrder == "asc", True],
        kind="mergesort",
        na_position="last",
    )
    return frame.iloc[ordered.index.to_numpy()]


def rows_frame(screen: Screen, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows of one screen as an export frame.

    Parameters
    ----------
    screen : Screen
        The screen the rows answer.
    rows : sequence of mapping
        ``{"symbol": "EXCHANGE:TICKER", column: value, ...}`` in server order.

    Returns
    -------
    pandas.DataFrame
        Index ``symbol`` (each symbol once), the screen's columns in order (a column the rows
        lack is all missing), ordered as described in the module docstring.

    Raises
    ------
    DataError
        A row without a ``symbol``.
    """
    columns = list(dict.fromkeys(screen.columns))
    if not rows:
        out = pd.DataFrame(
            {c: pd.Series(dtype="float64") for c in columns},
            index=pd.Index([], name="symbol", dtype="object"),
        )
        return out
    records: dict[str, dict[str, Any]] = {}
    for row in rows:
        symbol = row.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise DataError(f"scanner {screen.name}: a row has no symbol: {dict(row)!r:.120}")
        records.setdefault(symbol, {c: row.get(c) for c in columns})
    frame = pd.DataFrame(
        list(records.values()),
        index=pd.Index(list(records), name="symbol", dtype=object),
        columns=columns,
        dtype=object,
    )
    for name in columns:
        frame[name] = _normalise(frame[name])
    return _order(frame, screen)


def screener_table_of(exports: Sequence[ScanExport], screens: Sequence[Screen]) -> pd.DataFrame:
    """The combined screener table of the exports (see the module docstring).

    Parameters
    ----------
    exports : sequence of ScanExport
        One per screen, in the same order.
    screens : sequence of Screen
        The screens (their markets fill the ``market`` column).

    Returns
    -------
    pandas.DataFrame
        Index ``symbol`` (sorted), returned columns, then ``asset_class`` and ``market``.
    """
    columns: dict[str, None] = {}
    cells: dict[str, dict[str, Any]] = {}
    for export, screen in zip(exports, screens, strict=True):
        if export.status is ScanStatus.FAILED:
            continue
        columns.update(dict.fromkeys(map(str, export.rows.columns)))
        markets = screen.request.markets or []
        added = {
            "asset_class": str(export.asset_class) if export.asset_class is not None else "",
            "market": str(markets[0]) if len(markets) == 1 else ",".join(markets),
        }
        for symbol, record in zip(
            export.rows.index.astype(str), export.rows.to_dict(orient="records"), strict=True
        ):
            cell = cells.setdefault(symbol, dict(added))
            for name, value in record.items():
                if _is_missing(cell.get(str(name))) and not _is_missing(value):
                    cell[str(name)] = value
    names = [c for c in columns if c not in ADDED_COLUMNS] + list(ADDED_COLUMNS)
    symbols = sorted(cells)
    table = pd.DataFrame.from_records(
        [{name: cells[s].get(name) for name in names} for s in symbols],
        index=pd.Index(symbols, name="symbol", dtype="object"),
        columns=names,
    )
    for name in names:
        table[name] = _normalise(table[name])
    return table


def remote_exports(
    provider: object,
    screens: list[Screen],
    *,
    as_of: date,
    run_id: str,
    logger: logging.Logger | None = None,
    tick: Callable[[str, int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[list[ScanExport], pd.DataFrame]:
    """Evaluate every screen on the provider's scanner.

    Parameters
    ----------
    provider : object
        The run's provider; it must have a remote scanner (:func:`has_remote_scanner`).
    screens : list of Screen
        The screens, in the order their exports are returned.
    as_of : date
        The run's as-of date, stamped on each export.
    run_id : str
        The run's id, stamped on each export.
    logger : logging.Logger, optional
        Receives one line per screen.
    tick : callable, optional
        Progress ``tick(label, done, total)`` after each screen.
    warn : callable, optional
        Receives each warning of the provider (``provider: ...``), recorded by the step.

    Returns
    -------
    (list of ScanExport, pandas.DataFrame)
        One export per screen (status ``ok``, ``empty`` or ``failed`` with the error) and the
        combined screener table written as ``screener.parquet``.

    Raises
    ------
    ConfigError
        No screens, or the provider has no remote scanner.
    DataError
        Every scanner failed (the message lists each failure).
    """
    if not screens:
        raise ConfigError("no scanners to run (configs/scanners is empty or every name filtered)")
    if not has_remote_scanner(provider):
        raise ConfigError(
            f"provider {getattr(provider, 'name', provider)!r} has no remote scanner: "
            "discovery evaluates its screens locally"
        )
    reachability = getattr(provider, "reachability", None)
    if reachability is not None:  # no network: one error now, not one per scanner
        reachability.check()

    def rows_of(screen: Screen) -> pd.DataFrame:
        return rows_frame(screen, provider.screen(screen.to_request()))

    exports: list[ScanExport] = []
    for index, screen in enumerate(screens, start=1):
        export = screen_export(screen, rows_of, as_of=as_of, run_id=run_id)
        if logger is not None:
            logger.info(
                "remote scanner %s: %s, %d rows", screen.name, export.status.value, export.n_rows
            )
        exports.append(export)
        if tick is not None:
            tick("remote screens", index, len(screens))
    for warning in getattr(provider, "warnings", None) or []:
        if warn is not None:
            warn(f"provider: {warning}")
    raise_if_all_failed(exports)
    return exports, screener_table_of(exports, screens)


def remote_listings(provider: object, exports: Sequence[ScanExport]) -> dict[str, Listing]:
    """Listing metadata of every symbol the exports found, with few scanner requests.

    A provider is rebuilt for each step, so the listings a screen carried are not remembered by
    the aggregation step: this asks them again in batches (``provider.metadata_many``).
    Symbols the scanner no longer lists are left out (aggregation then takes the class from
    the scanner and records ``no_listing``).

    Parameters
    ----------
    provider : object
        The run's provider (it must have a remote scanner).
    exports : sequence of ScanExport
        Exports of the discovery step (failed ones carry no rows).

    Returns
    -------
    dict
        Symbol to listing, sorted by symbol.
    """
    if not has_remote_scanner(provider):
        raise ConfigError(f"provider {getattr(provider, 'name', provider)!r} has no remote scanner")
    symbols = sorted({str(s) for e in exports for s in e.rows.index})
    found = provider.metadata_many(symbols, strict=False)
    return {s: found[s] for s in sorted(found)}
