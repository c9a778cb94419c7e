"""Local evaluation of screens on a screener table, and the scanner run of the Discovery step.

:func:`evaluate_screen` applies a screen to a table built by
:func:`~clusterfolio.discovery.columns.screener_table` (rows = symbols):

1. *universe*: rows whose ``market`` is one of the screen's ``markets``, whose ``asset_class``
   is the screen's class (a clusterfolio restriction: TradingView has no such field, the meta key
   plays that role locally) and, when ``symbols.tickers`` is given, only those symbols;
   ``symbols.query.types`` restricts on the ``type`` column. Each restriction applies only when
   the table has the column;
2. *filters*: every ``filter`` expression AND the ``filter2`` tree. Vectorised, one boolean
   mask per expression. A comparison with a missing value is False (as TradingView drops
   nulls); ``empty`` / ``nempty`` test for missing values. A string ``right`` names a column when
   the table has one of that name and is a literal otherwise. ``in_range`` with two numbers (or
   column names) is the closed interval, with anything else set membership. ``above%`` with
   ``[x, f]`` is ``left > x * f``, ``below%`` is ``left < x * f``, ``in_range%`` with
   ``[x, lo, hi]`` is ``x * lo <= left <= x * hi``. ``has`` / ``has_none_of`` test list-valued
   columns (``typespecs``) or scalars for any / none of the values. ``match`` / ``nmatch`` are
   case-insensitive substring tests;
3. *crossings* need the previous bar: ``crosses_above`` is
   ``left[1] <= right[1] and left > right``, ``crosses_below`` the mirror, ``crosses`` either;
   ``left[1]`` is the column :func:`~clusterfolio.discovery.columns.previous_column` names
   (``RSI|1W`` → ``RSI[1]|1W``), which :func:`required_columns` asks the table to carry; a
   numeric ``right`` is its own previous value;
4. *sort* by ``sortBy`` (``asc``/``desc``), missing values last, ties by symbol; then
   *range* ``[offset, end]`` keeps rows ``offset .. end - 1``.

Multi-timeframe screens read suffixed columns: a forex MTF screen filters the monthly trend on
``|1M`` columns, the weekly confirmation on ``|1W`` columns and the daily execution on plain
columns, all from the same daily candles.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.encoding import record
from clusterfolio.discovery.columns import previous_column
from clusterfolio.discovery.screens import (
    Filter2Expression,
    Filter2Node,
    FilterExpression,
    Screen,
)
from clusterfolio.enums import AssetClass, Direction
from clusterfolio.errors import ConfigError, DataError

_CROSSINGS = frozenset({"crosses", "crosses_above", "crosses_below"})

#: Columns every export carries besides the screen's own (the Alpha Discovery Score reads them).
SCORE_COLUMNS: tuple[str, ...] = (
    "close",
    "volume",
    "Value.Traded",
    "average_volume_30d_calc",
    "Recommend.All",
    "SMA50",
    "SMA200",
    "ATR",
    "Perf.1M",
    "Perf.3M",
)


class ScanStatus(StrEnum):
    """Outcome of one scanner."""

    OK = "ok"
    EMPTY = "empty"
    FAILED = "failed"


@dataclass
class ScanExport:
    """One scanner's result: its rows and the meta data of the run.

    Attributes
    ----------
    scanner : str
    asset_class : AssetClass or None
    direction : Direction
    as_of : date
    run_id : str
    status : ScanStatus
    rows : pandas.DataFrame
        Index ``symbol``; the screen's columns then :data:`SCORE_COLUMNS` the table has.
    error : str
        ``""`` unless the scanner failed.
    source : str
        The screen file.
    """

    scanner: str
    asset_class: AssetClass | None
    direction: Direction
    as_of: date
    run_id: str
    status: ScanStatus
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    error: str = ""
    source: str = ""

    @property
    def n_rows(self) -> int:
        """Number of candidates."""
        return len(self.rows)

    def meta(self) -> dict[str, Any]:
        """The export's meta data (JSON-safe)."""
        return record(self, drop=("rows",), n_rows=self.n_rows)

    def to_frame(self) -> pd.DataFrame:
        """Rows with the meta data as columns (``symbol`` as a column, for Parquet)."""
        frame = self.rows.reset_index()
        for key in ("scanner", "asset_class", "direction", "run_id"):
            frame[key] = self.meta()[key]
        frame["as_of"] = pd.Timestamp(self.as_of)
        return frame

    def to_json_dict(self) -> dict[str, Any]:
        """Meta data and rows as records (NaN written as null)."""
        rows = self.rows.reset_index()
        records = [
            {k: _json_value(v) for k, v in rec.items()} for rec in rows.to_dict(orient="records")
        ]
        return {**self.meta(), "rows": records}


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


# --------------------------------------------------------------------------- evaluation


def required_columns(screens: Iterable[Screen], extra: Sequence[str] = SCORE_COLUMNS) -> list[str]:
    """Columns a screener table needs to evaluate ``screens`` (and the score's ``extra``).

    Includes the previous-bar columns of crossing filters (both sides when the right side is a
    column name). String operands that may be literals are *not* included; the evaluator treats
    a string absent from the table as a literal.
    """
    from clusterfolio.discovery.columns import parse_column

    out: dict[str, None] = {}

    def add(name: str) -> None:
        try:
            parse_column(name)
        except DataError:
            return
        out[name] = None

    for screen in screens:
        for name in screen.columns:
            out[name] = None
        for expr in screen.expressions():
            out[expr.left] = None
            right = expr.right
            if isinstance(right, str):
                add(right)
            elif isinstance(right, list) and right and isinstance(right[0], str):
                add(right[0])
            if expr.operation in _CROSSINGS:
                out[previous_column(expr.left)] = None
                if isinstance(right, str):
                    with contextlib.suppress(DataError):
                        out[previous_column(right)] = None
        if screen.request.sort is not None:
            out[screen.request.sort.sortBy] = None
    for name in extra:
        out[name] = None
    return list(out)


class _Evaluator:
    def __init__(self, screen: Screen, table: pd.DataFrame) -> None:
        self.screen = screen
        self.table = table
        self.where = screen.source or screen.name

    def column(self, name: str) -> pd.Series:
        if name not in self.table.columns:
            raise DataError(
                f"screen {self.where}: column {name!r} is not in the screener table "
                f"(have {sorted(map(str, self.table.columns))})"
            )
        return self.table[name]

    def operand(self, value: Any) -> Any:
        """A column (Series) when ``value`` names one, else the literal."""
        if isinstance(value, str) and value in self.table.columns:
            return self.table[value]
        return value

    def previous(self, value: Any, expr: FilterExpression) -> Any:
        if isinstance(value, str) and value in self.table.columns:
            return self.column(previous_column(value))
        if isinstance(value, str):
            raise DataError(
                f"screen {self.where}: {expr.operation} on {expr.left!r} compares with "
                f"{value!r}, which is not a column"
            )
        return value

    def numeric(self, value: Any) -> Any:
        if isinstance(value, pd.Series):
            return pd.to_numeric(value, errors="coerce")
        return value

    def mask(self, expr: FilterExpression) -> pd.Series:
        op = expr.operation
        left = self.column(expr.left)
        right = expr.right
        if op == "empty":
            return left.isna()
        if op == "nempty":
            return left.notna()
        if op in ("greater", "egreater", "less", "eless"):
            lv, rv = self.numeric(left), self.numeric(self.operand(right))
            result = {
                "greater": lambda: lv > rv,
                "egreater": lambda: lv >= rv,
                "less": lambda: lv < rv,
                "eless": lambda: lv <= rv,
            }[op]()
            return _fill(result)
        if op in ("equal", "nequal"):
            rv = self.operand(right)
            eq = _fill(left == rv) & left.notna()
            return eq if op == "equal" else ~eq & left.notna()
        if op in ("in_range", "not_in_range"):
            inside = self.in_range(left, right)
            return inside if op == "in_range" else ~inside & left.notna()
        if op in ("above%", "below%", "in_range%", "not_in_range%"):
            return self.percent(op, left, right)
        if op in _CROSSINGS:
            return self.crossing(expr, left)
        if op in ("has", "has_none_of"):
            values = set(right)
            exploded = left.explode()
            hit = exploded.isin(values).groupby(level=0, sort=False).any()
            hit = hit.reindex(left.index, fill_value=False).astype(bool)
            return hit if op == "has" else ~hit
        if op in ("match", "nmatch"):
            text = left.astype("string")
            found = text.str.contains(str(right), case=False, regex=False).fillna(False)
            found = found.astype(bool)
            return found if op == "match" else ~found & left.notna()
        raise ConfigError(f"screen {self.where}: operation {op!r} is not evaluated locally")

    def percent(self, op: str, left: pd.Series, right: list[Any]) -> pd.Series:
        """``above%`` / ``below%`` / ``in_range%`` / ``not_in_range%``: ``left`` against a
        column (or value) scaled by the given factors."""
        base = self.numeric(self.operand(right[0]))
        lv = self.numeric(left)
        if op in ("above%", "below%"):
            factor = float(right[1])
            return _fill(lv > base * factor) if op == "above%" else _fill(lv < base * factor)
        lo, hi = float(right[1]), float(right[2])
        inside = _fill((lv >= base * lo) & (lv <= base * hi))
        return inside if op == "in_range%" else ~inside & lv.notna()

    def crossing(self, expr: FilterExpression, left: pd.Series) -> pd.Series:
        """``crosses_above`` / ``crosses_below`` / ``crosses``: the last bar against the one
        before (``left[1]``, ``right[1]``)."""
        op, right = expr.operation, expr.right
        lv, rv = self.numeric(left), self.numeric(self.operand(right))
        lp = self.numeric(self.column(previous_column(expr.left)))
        rp = self.numeric(self.previous(right, expr))
        above = _fill((lp <= rp) & (lv > rv))
        below = _fill((lp >= rp) & (lv < rv))
        if op == "crosses_above":
            return above
        if op == "crosses_below":
            return below
        return above | below

    def in_range(self, left: pd.Series, right: list[Any]) -> pd.Series:
        bounds = [self.operand(v) for v in right]
        is_bound = [isinstance(b, pd.Series) or _is_number(b) for b in bounds]
        if len(right) == 2 and all(is_bound):
            lv = self.numeric(left)
            lo, hi = (self.numeric(b) for b in bounds)
            return _fill((lv >= lo) & (lv <= hi))
        return left.isin(list(right)) & left.notna()

    def tree(self, node: Filter2Node) -> pd.Series:
        masks = []
        for operand in node.operands:
            if isinstance(operand, Filter2Expression):
                masks.append(self.mask(operand.expression))
            else:
                masks.append(self.tree(operand.operation))
        if not masks:
            return pd.Series(True, index=self.table.index)
        combined = masks[0]
        for m in masks[1:]:
            combined = combined & m if node.operator == "and" else combined | m
        return combined


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _fill(mask: Any) -> pd.Series:
    series = mask if isinstance(mask, pd.Series) else pd.Series(mask)
    return series.fillna(False).astype(bool)


def universe_mask(screen: Screen, table: pd.DataFrame) -> pd.Series:
    """Rows of ``table`` inside the screen's markets, asset class, tickers and types."""
    mask = pd.Series(True, index=table.index)
    request = screen.request
    if request.markets and "market" in table.columns:
        mask &= table["market"].isin(request.markets)
    if screen.asset_class is not None and "asset_class" in table.columns:
        mask &= table["asset_class"].astype(str) == str(screen.asset_class)
    symbols = request.symbols
    if symbols is not None:
        if symbols.tickers:
            mask &= table.index.isin(symbols.tickers)
        if symbols.query is not None and symbols.query.types and "type" in table.columns:
            mask &= table["type"].isin(symbols.query.types)
    return mask


def evaluate_screen(screen: Screen, table: pd.DataFrame) -> pd.DataFrame:
    """Apply a screen to a screener table (rules in the module docstring).

    Parameters
    ----------
    screen : Screen
    table : pandas.DataFrame
        Index = symbols (unique), columns = screener columns.

    Returns
    -------
    pandas.DataFrame
        The selected rows (sorted, ranged), index ``symbol``, the screen's columns in order.

    Raises
    ------
    DataError
        A column the screen needs is not in the table (the message names the screen).
    """
    if not table.index.is_unique:
        raise DataError(f"screen {screen.source or screen.name}: table index must be unique")
    ev = _Evaluator(screen, table)
    for name in screen.columns:
        ev.column(name)
    mask = universe_mask(screen, table)
    for expr in screen.filters:
        mask &= ev.mask(expr)
    if screen.request.filter2 is not None:
        mask &= ev.tree(screen.request.filter2)
    selected = table.loc[mask.to_numpy()]
    sort = screen.request.sort
    if sort is not None:
        key = ev.column(sort.sortBy).loc[selected.index]
        order = _sort_order(key, ascending=sort.sortOrder == "asc")
        selected = selected.iloc[order]
    else:
        selected = selected.sort_index(kind="mergesort")
    if screen.request.range is not None:
        start, end = screen.request.range
        selected = selected.iloc[start:end]
    out = selected.loc[:, list(dict.fromkeys(screen.columns))]
    out.index.name = "symbol"
    return out


def _sort_order(key: pd.Series, *, ascending: bool) -> np.ndarray:
    """Positions sorting ``key`` (missing last, ties by symbol)."""
    frame = pd.DataFrame({"key": key.to_numpy(), "symbol": key.index.astype(str)})
    frame["missing"] = frame["key"].isna()
    numeric = pd.to_numeric(frame["key"], errors="coerce")
    if numeric.notna().sum() == frame["key"].notna().sum():
        frame["key"] = numeric
    ordered = frame.sort_values(
        ["missing", "key", "symbol"],
        ascending=[True, ascending, True],
        kind="mergesort",
        na_position="last",
    )
    return ordered.index.to_numpy()


# --------------------------------------------------------------------------- the scanner run


def run_scanners(
    screens: Sequence[Screen],
    table: pd.DataFrame,
    *,
    as_of: date,
    run_id: str,
    extra_columns: Sequence[str] = SCORE_COLUMNS,
) -> list[ScanExport]:
    """Evaluate every screen; a failing or empty scanner is reported and the run goes on.

    Parameters
    ----------
    screens : sequence of Screen
    table : pandas.DataFrame
        Screener table (see :func:`required_columns`).
    as_of : date
        The run's as-of date (recorded on each export).
    run_id : str
    extra_columns : sequence of str
        Table columns appended to every export's rows when the screen did not request them
        (the Alpha Discovery Score reads :data:`SCORE_COLUMNS`).

    Returns
    -------
    list of ScanExport
        One per screen, in the given order; status ``ok``, ``empty`` or ``failed`` (with the
        error message).

    Raises
    ------
    ConfigError
        No screens.
    DataError
        Every scanner failed (the message lists each failure).
    """
    if not screens:
        raise ConfigError("no scanners to run (configs/scanners is empty or every name filtered)")

    def rows_of(screen: Screen) -> pd.DataFrame:
        rows = evaluate_screen(screen, table)
        extra = [c for c in extra_columns if c in table.columns and c not in rows.columns]
        return rows.join(table.loc[rows.index, extra]) if extra else rows

    exports = [screen_export(screen, rows_of, as_of=as_of, run_id=run_id) for screen in screens]
    raise_if_all_failed(exports)
    return exports


def screen_export(
    screen: Screen, rows_of: Callable[[Screen], pd.DataFrame], *, as_of: date, run_id: str
) -> ScanExport:
    """Run one screen through ``rows_of``: a failing scanner is a failed export, not an error.

    Returns
    -------
    ScanExport
        Status ``ok`` or ``empty`` with the rows, or ``failed`` with no rows and the error
        (exception type and message).
    """
    try:
        rows = rows_of(screen)
        status, error = (ScanStatus.OK if len(rows) else ScanStatus.EMPTY), ""
    except Exception as exc:  # a failing scanner is a result, not the end of the run
        rows = pd.DataFrame(index=pd.Index([], name="symbol", dtype="object"))
        status, error = ScanStatus.FAILED, f"{type(exc).__name__}: {exc}"
    return ScanExport(
        scanner=screen.name,
        asset_class=screen.asset_class,
        direction=screen.direction,
        as_of=as_of,
        run_id=run_id,
        status=status,
        rows=rows,
        error=error,
        source=screen.source or "",
    )


def raise_if_all_failed(exports: Sequence[ScanExport]) -> None:
    """Raise when every scanner failed (the message lists each failure).

    Raises
    ------
    DataError
        Every export has status ``failed``.
    """
    failed = [e for e in exports if e.status is ScanStatus.FAILED]
    if len(failed) == len(exports):
        details = "\n".join(f"  {e.scanner}: {e.error}" for e in failed)
        raise DataError(f"every scanner failed ({len(failed)}):\n{details}")


def discovery_summary(exports: Sequence[ScanExport]) -> dict[str, Any]:
    """Counts of a scanner run (JSON-safe).

    Returns
    -------
    dict
        ``scanners``, ``ok``, ``empty``, ``failed``, ``candidates`` (rows over all exports),
        ``unique_symbols``, ``by_asset_class``, ``by_direction``, ``by_class_and_direction``
        (candidate rows), ``scanners_detail`` (per scanner: class, direction, status, rows,
        error).
    """
    by_class: dict[str, int] = {}
    by_direction: dict[str, int] = {}
    by_both: dict[str, dict[str, int]] = {}
    symbols: set[str] = set()
    for e in exports:
        klass = str(e.asset_class) if e.asset_class is not None else "unknown"
        direction = str(e.direction)
        by_class[klass] = by_class.get(klass, 0) + e.n_rows
        by_direction[direction] = by_direction.get(direction, 0) + e.n_rows
        cell = by_both.setdefault(klass, {})
        cell[direction] = cell.get(direction, 0) + e.n_rows
        symbols.update(map(str, e.rows.index))
    return {
        "scanners": len(exports),
        "ok": sum(e.status is ScanStatus.OK for e in exports),
        "empty": sum(e.status is ScanStatus.EMPTY for e in exports),
        "failed": sum(e.status is ScanStatus.FAILED for e in exports),
        "candidates": sum(e.n_rows for e in exports),
        "unique_symbols": len(symbols),
        "by_asset_class": dict(sorted(by_class.items())),
        "by_direction": dict(sorted(by_direction.items())),
        "by_class_and_direction": {k: dict(sorted(v.items())) for k, v in sorted(by_both.items())},
        "scanners_detail": [
            {
                "scanner": e.scanner,
                "asset_class": str(e.asset_class) if e.asset_class is not None else None,
                "direction": str(e.direction),
                "status": str(e.status),
                "rows": e.n_rows,
                "error": e.error,
            }
            for e in exports
        ],
    }
