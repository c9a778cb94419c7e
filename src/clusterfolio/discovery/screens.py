"""Declarative screens: TradingView ``/scan`` request bodies plus clusterfolio meta keys.

A screen file ``configs/scanners/<class>/<name>.json`` is a TradingView scanner request body
(the keys of :class:`ScanRequest`: ``markets``, ``columns``, ``filter``, ``filter2``, ``sort``,
``range``, ``options``, ``symbols``, ``ignore_unknown_fields``, ``price_conversion``, ``preset``)
with clusterfolio meta keys beside it (:data:`META_KEYS`):

``name``
    Scanner name (default: the file stem); unique across the folder.
``asset_class``
    :class:`~clusterfolio.enums.AssetClass` of the candidates (default: from the folder,
    ``equities`` → equity, ``etfs`` → etf, ``bonds`` → bond, ``crypto`` → crypto, ``forex`` →
    forex, ``commodities`` → commodity).
``direction``
    ``LONG`` or ``SHORT`` (default LONG).
``timeframes``
    Resolutions the screen reads: ``1D`` (always), ``1W``, ``1M``. A column with suffix ``|1W``
    or ``|1M`` must be declared here (multi-timeframe screens say so explicitly).
``description``
    Free text.
``extends``
    A preset ``base/<name>`` (``configs/scanners/base/<name>.json``) whose keys are merged
    *deep* under the file's: mappings merge key by key, anything else is replaced. A key ending
    in ``+`` appends to the inherited list instead of replacing it (``"filter+": [...]``,
    ``"columns+": [...]``; repeated columns are kept once). Presets may extend presets; cycles
    are errors. Presets are not screens: ``load_screens`` skips ``base/``.

Filters are ``{"left", "operation", "right"}`` with TradingView's operation names
(:data:`OPERATIONS`); the aliases ``not_equal``, ``in`` and ``not_in`` are rewritten to
``nequal``, ``in_range`` and ``not_in_range`` so the body stays valid for TradingView. Any other
operation is a :class:`~clusterfolio.errors.ConfigError` naming the file, the filter and the
allowed operations. Every model forbids unknown keys: a typo names the file and the key.

:meth:`Screen.to_request` returns exactly the request body (no meta keys) and
:meth:`Screen.from_request` reads one, so a screen file can be sent to TradingView as is and a
body captured from TradingView round-trips unchanged (up to key order).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clusterfolio.enums import AssetClass, Direction
from clusterfolio.errors import ConfigError, CorruptFileError
from clusterfolio.io import read_json

#: Filter operations understood by TradingView's scanner and by the local evaluator.
OPERATIONS: frozenset[str] = frozenset(
    {
        "greater", "egreater", "less", "eless", "equal", "nequal",
        "in_range", "not_in_range", "in_range%", "not_in_range%", "above%", "below%",
        "crosses", "crosses_above", "crosses_below",
        "has", "has_none_of", "match", "nmatch", "empty", "nempty",
    }
)  # fmt: skip

#: Friendlier spellings accepted in files, rewritten to TradingView's.
OPERATION_ALIASES: dict[str, str] = {
    "not_equal": "nequal",
    "in": "in_range",
    "not_in": "not_in_range",
}

#: Meta keys of a screen file (not sent to TradingView).
META_KEYS: frozenset[str] = frozenset(
    {"name", "asset_class", "direction", "timeframes", "description", "extends"}
)

#: Supported local timeframes.
TIMEFRAMES: tuple[str, ...] = ("1D", "1W", "1M")

#: TradingView market names (``markets`` of a request).
MARKETS: frozenset[str] = frozenset(
    {
        "america", "uae", "argentina", "austria", "australia", "bangladesh", "belgium", "bahrain",
        "brazil", "bulgaria", "canada", "switzerland", "chile", "china", "colombia", "croatia",
        "cyprus", "czech", "germany", "denmark", "estonia", "egypt", "spain", "finland",
        "france", "greece", "hongkong", "hungary", "indonesia", "ireland", "israel", "india",
        "iceland", "italy", "japan", "kenya", "korea", "kuwait", "srilanka", "lithuania",
        "latvia", "luxembourg", "mexico", "morocco", "malaysia", "nigeria", "netherlands",
        "norway", "newzealand", "peru", "philippines", "pakistan", "poland", "portugal", "qatar",
        "serbia", "russia", "romania", "ksa", "sweden", "singapore", "slovakia", "slovenia",
        "thailand", "tunisia", "turkey", "taiwan", "uk", "venezuela", "vietnam", "rsa", "global",
        "bond", "bonds", "cfd", "coin", "crypto", "economics2", "forex", "futures", "options",
    }
)  # fmt: skip

#: Folder names under ``configs/scanners`` and the class they default to.
FOLDER_CLASSES: dict[str, AssetClass] = {
    "equities": AssetClass.EQUITY,
    "etfs": AssetClass.ETF,
    "bonds": AssetClass.BOND,
    "crypto": AssetClass.CRYPTO,
    "forex": AssetClass.FOREX,
    "commodities": AssetClass.COMMODITY,
}

PRESET_FOLDER = "base"
_PCT_OPERATIONS = frozenset({"above%", "below%", "in_range%", "not_in_range%"})
_TIMEFRAME_SUFFIX = re.compile(r"\|([^|]+)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FilterExpression(_Model):
    """One filter ``{left, operation, right}``.

    ``right`` is a literal, a column name (a string naming a column of the table), a list
    (``in_range``: ``[low, high]`` numbers or a list of categories; ``above%``:
    ``[column_or_value, factor]``; ``in_range%``: ``[column_or_value, low, high]``), or absent
    (``empty``, ``nempty``).
    """

    left: str = Field(min_length=1)
    operation: str
    right: Any = None

    @field_validator("operation", mode="before")
    @classmethod
    def _known_operation(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = OPERATION_ALIASES.get(value, value)
            if value not in OPERATIONS:
                raise ValueError(
                    f"unknown operation {value!r}; supported: {sorted(OPERATIONS)} "
                    f"(aliases {sorted(OPERATION_ALIASES)})"
                )
        return value

    @model_validator(mode="after")
    def _right_shape(self) -> FilterExpression:
        op, right = self.operation, self.right
        if op in ("above%", "below%") and not (isinstance(right, list) and len(right) == 2):
            raise ValueError(
                f"{op} needs right = [column_or_value, factor] (filter on {self.left!r})"
            )
        if op in ("in_range%", "not_in_range%") and not (
            isinstance(right, list) and len(right) == 3
        ):
            raise ValueError(f"{op} needs right = [column_or_value, low, high] ({self.left!r})")
        if op in ("in_range", "not_in_range", "has", "has_none_of") and not isinstance(right, list):
            raise ValueError(f"{op} needs a list on the right (filter on {self.left!r})")
        return self


class Filter2Expression(_Model):
    """A leaf of a ``filter2`` tree."""

    expression: FilterExpression


class Filter2Operation(_Model):
    """An inner node of a ``filter2`` tree."""

    operation: Filter2Node


class Filter2Node(_Model):
    """``{"operator": "and"|"or", "operands": [...]}`` (TradingView's ``filter2``)."""

    operator: Literal["and", "or"]
    operands: list[Union[Filter2Expression, Filter2Operation]]  # noqa: UP007

    def expressions(self) -> list[FilterExpression]:
        """Every leaf expression of the tree, depth first."""
        out: list[FilterExpression] = []
        for operand in self.operands:
            if isinstance(operand, Filter2Expression):
                out.append(operand.expression)
            else:
                out.extend(operand.operation.expressions())
        return out


Filter2Operation.model_rebuild()


class Sort(_Model):
    """``{"sortBy", "sortOrder", "nullsFirst"}``; missing values always sort last locally."""

    sortBy: str = Field(min_length=1)
    sortOrder: Literal["asc", "desc"] = "desc"
    nullsFirst: bool | None = None


class SymbolsQuery(_Model):
    """``symbols.query`` of a request."""

    types: list[str] = Field(default_factory=list)


class Symbols(_Model):
    """``symbols`` of a request: explicit tickers and instrument types."""

    query: SymbolsQuery | None = None
    tickers: list[str] | None = None
    groups: list[Any] | None = None


class ScanRequest(_Model):
    """A TradingView ``/scan`` request body (only the keys that were given are emitted)."""

    markets: list[str] | None = None
    columns: list[str] = Field(min_length=1)
    filter: list[FilterExpression] | None = None
    filter2: Filter2Node | None = None
    sort: Sort | None = None
    range: list[int] | None = None
    options: dict[str, Any] | None = None
    symbols: Symbols | None = None
    ignore_unknown_fields: bool | None = None
    price_conversion: dict[str, Any] | None = None
    preset: str | None = None

    @field_validator("markets")
    @classmethod
    def _known_markets(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = [m for m in value if m not in MARKETS]
            if unknown:
                raise ValueError(f"unknown market(s) {unknown}; allowed: {sorted(MARKETS)}")
        return value

    @field_validator("range")
    @classmethod
    def _valid_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) != 2 or not 0 <= value[0] <= value[1]):
            raise ValueError(f"range must be [offset, end] with 0 <= offset <= end, got {value}")
        return value


class Screen(_Model):
    """A scanner: a request body and its meta keys.

    Attributes
    ----------
    name : str
    asset_class : AssetClass or None
        ``None`` only for screens built from a bare request body.
    direction : Direction
    timeframes : list of str
    description : str
    source : str or None
        The file the screen was read from (named in every error).
    request : ScanRequest
    """

    name: str
    asset_class: AssetClass | None = None
    direction: Direction = Direction.LONG
    timeframes: list[str] = Field(default_factory=lambda: ["1D"])
    description: str = ""
    source: str | None = None
    request: ScanRequest

    @property
    def columns(self) -> list[str]:
        """Requested columns, in order."""
        return list(self.request.columns)

    @property
    def filters(self) -> list[FilterExpression]:
        """The ``filter`` list (empty when absent)."""
        return list(self.request.filter or [])

    def expressions(self) -> list[FilterExpression]:
        """Every filter expression, ``filter`` then the leaves of ``filter2``."""
        tree = self.request.filter2.expressions() if self.request.filter2 else []
        return [*self.filters, *tree]

    def referenced_columns(self) -> list[str]:
        """Columns the screen reads: requested, filtered on, compared against and sorted by.

        String operands on the right are included (they may be column names); the evaluator
        decides at run time whether a string is a column of the table or a literal.
        """
        out: dict[str, None] = dict.fromkeys(self.request.columns)
        for expr in self.expressions():
            out[expr.left] = None
            right = expr.right
            if isinstance(right, str):
                out[right] = None
            elif expr.operation in _PCT_OPERATIONS and isinstance(right[0], str):
                out[right[0]] = None
        if self.request.sort is not None:
            out[self.request.sort.sortBy] = None
        return list(out)

    def to_request(self) -> dict[str, Any]:
        """Return the TradingView request body (meta keys excluded, only given keys)."""
        return self.request.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def from_request(
        cls,
        body: Mapping[str, Any],
        *,
        name: str = "request",
        asset_class: AssetClass | None = None,
        direction: Direction = Direction.LONG,
        source: str | None = None,
    ) -> Screen:
        """Build a screen from a TradingView request body.

        Parameters
        ----------
        body : mapping
            A ``/scan`` body (e.g. one ``query`` of ``main_screeners.json``).
        name, asset_class, direction, source
            Meta data (the body carries none).

        Raises
        ------
        ConfigError
            Unknown keys, unknown operations or malformed values (message names ``source`` or
            ``name`` and the key).
        """
        request = _validate_request(body, source or f"request {name!r}")
        return cls(
            name=name,
            asset_class=asset_class,
            direction=direction,
            timeframes=_used_timeframes(request),
            source=source,
            request=request,
        )


def _validate_request(body: Mapping[str, Any], where: str) -> ScanRequest:
    """Validate a ``/scan`` body, the :class:`ConfigError` naming ``where`` and the key."""
    try:
        return ScanRequest.model_validate(dict(body))
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, where, dict(body))) from exc


def _used_timeframes(request: ScanRequest) -> list[str]:
    """The timeframes the request's columns use, ``1D`` first (always there)."""
    used = {"1D", *(_timeframe(c) for c in _all_columns(request))}
    return sorted(used, key=lambda t: (t != "1D", t))


def _timeframe(column: str) -> str:
    match = _TIMEFRAME_SUFFIX.search(column)
    return match.group(1) if match else "1D"


def _all_columns(request: ScanRequest) -> list[str]:
    cols = list(request.columns)
    exprs = list(request.filter or []) + (request.filter2.expressions() if request.filter2 else [])
    for expr in exprs:
        cols.append(expr.left)
    if request.sort is not None:
        cols.append(request.sort.sortBy)
    return cols


def _describe_loc(loc: Sequence[Any], raw: Mapping[str, Any]) -> str:
    """Render a pydantic error location, naming the filter's ``left`` when there is one."""
    parts = [str(p) for p in loc]
    text = ".".join(parts)
    if len(loc) >= 2 and loc[0] == "filter" and isinstance(loc[1], int):
        items = raw.get("filter")
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            left = items[loc[1]].get("left")
            text += f" (filter #{loc[1]} on {left!r})"
    return text


def _format_errors(exc: ValidationError, where: str, raw: Mapping[str, Any]) -> str:
    lines = [f"invalid screen {where}:"]
    for err in exc.errors():
        loc = _describe_loc(err["loc"], raw)
        if err["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown key")
        else:
            lines.append(f"  {loc}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def merge_screen_dicts(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``update`` over ``base`` (mappings deep, ``key+`` appends to lists, else replace).

    Parameters
    ----------
    base, update : mapping
        Raw screen dictionaries (``update`` wins).

    Returns
    -------
    dict
        A new dictionary; neither input is modified.
    """
    out: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in update.items():
        if key.endswith("+"):
            target = key[:-1]
            if not isinstance(value, list):
                raise ConfigError(f"{key!r} must be a list to append to {target!r}")
            inherited = out.get(target, [])
            if not isinstance(inherited, list):
                raise ConfigError(f"{key!r} appends to {target!r}, which is not a list")
            merged = [*inherited, *copy.deepcopy(value)]
            if target == "columns":
                merged = list(dict.fromkeys(merged))
            out[target] = merged
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_screen_dicts(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = read_json(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"screen file not found: {path}") from exc
    except CorruptFileError as exc:  # names the file: "<path>: not valid JSON (...)"
        raise ConfigError(f"screen file {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"screen file {path}: must hold a JSON object")
    return raw


def resolve_extends(path: Path, root: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a screen or preset file and merge its ``extends`` chain (base first).

    Parameters
    ----------
    path : Path
        The file.
    root : Path
        ``configs/scanners``; ``extends: "base/x"`` reads ``root / "base/x.json"``.

    Returns
    -------
    dict
        The merged raw dictionary without ``extends``.
    """
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(f"screen file {_seen[0]}: extends cycle {chain}")
    raw = _read_json(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str) or not parent:
        raise ConfigError(f"screen file {path}: extends must be a preset name like 'base/trend'")
    parent_path = (root / parent).with_suffix(".json")
    if not parent_path.is_file():
        raise ConfigError(
            f"screen file {path}: extends {parent!r} but {parent_path} does not exist"
        )
    return merge_screen_dicts(resolve_extends(parent_path, root, (*_seen, path)), raw)


def screen_from_dict(
    raw: Mapping[str, Any],
    *,
    source: str,
    default_name: str,
    default_class: AssetClass | None = None,
) -> Screen:
    """Validate a merged screen dictionary (request keys plus :data:`META_KEYS`).

    Raises
    ------
    ConfigError
        Names ``source`` and the offending key (unknown key, bad value, unknown operation,
        undeclared timeframe, missing asset class).
    """
    meta = {k: raw[k] for k in raw if k in META_KEYS and k != "extends"}
    body = {k: v for k, v in raw.items() if k not in META_KEYS}
    request = _validate_request(body, source)
    meta.setdefault("name", default_name)
    if "asset_class" not in meta:
        if default_class is None:
            raise ConfigError(f"invalid screen {source}:\n  asset_class: required")
        meta["asset_class"] = default_class
    try:
        screen = Screen.model_validate({**meta, "source": source, "request": request})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source, meta)) from exc
    bad_tf = [t for t in screen.timeframes if t not in TIMEFRAMES]
    if bad_tf:
        raise ConfigError(
            f"invalid screen {source}:\n  timeframes: unsupported {bad_tf}; allowed {TIMEFRAMES}"
        )
    used = {_timeframe(c): c for c in screen.referenced_columns() if _timeframe(c) != "1D"}
    undeclared = {t: c for t, c in used.items() if t not in screen.timeframes}
    if undeclared:
        raise ConfigError(
            f"invalid screen {source}:\n  timeframes: columns use {sorted(undeclared)} "
            f"(e.g. {next(iter(undeclared.values()))!r}) but timeframes is {screen.timeframes}"
        )
    return screen


def load_screen(path: Path, root: Path | None = None) -> Screen:
    """Load one screen file, resolving ``extends`` against ``root`` (default: its grandparent).

    Parameters
    ----------
    path : Path
        ``configs/scanners/<class>/<name>.json``.
    root : Path, optional
        The scanners folder.

    Returns
    -------
    Screen
    """
    path = Path(path)
    root = Path(root) if root is not None else path.resolve().parent.parent
    raw = resolve_extends(path, root)
    return screen_from_dict(
        raw,
        source=str(path),
        default_name=path.stem,
        default_class=FOLDER_CLASSES.get(path.parent.name),
    )


def load_screens(root: Path, names: Iterable[str] = ()) -> list[Screen]:
    """Load every screen under ``root/<class>/*.json`` (presets in ``root/base`` skipped).

    Parameters
    ----------
    root : Path
        The scanners folder (``DiscoverySettings.scanners_dir``).
    names : iterable of str
        Keep only these scanner names (``DiscoverySettings.scanners``; empty means all).

    Returns
    -------
    list of Screen
        Sorted by asset class then name.

    Raises
    ------
    ConfigError
        A missing folder, an invalid file, a duplicated name or a requested name not found.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"scanners folder not found: {root}")
    screens: list[Screen] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*/*.json")):
        if path.parent.name == PRESET_FOLDER:
            continue
        screen = load_screen(path, root)
        if screen.name in seen:
            raise ConfigError(
                f"scanner name {screen.name!r} used by {seen[screen.name]} and {path}"
            )
        seen[screen.name] = str(path)
        screens.append(screen)
    wanted = list(names)
    if wanted:
        missing = [n for n in wanted if n not in seen]
        if missing:
            raise ConfigError(f"unknown scanner(s) {missing}; available: {sorted(seen)}")
        screens = [s for s in screens if s.name in set(wanted)]
    screens.sort(key=lambda s: (str(s.asset_class), s.name))
    return screens
