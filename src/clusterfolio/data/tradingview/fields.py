"""Scanner field lists per market, used to validate a screen's columns before it is sent.

The lists are TradingView's metainfo snapshots (``metainfo/{stocks,crypto,forex,bond,coin}.json``,
entries ``{"n": name, "t": type, "r": allowed values or null}``). ``markets.json`` beside the
folder lists the country markets, which all use ``stocks``; ``crypto``, ``coin``, ``forex`` and
``bond``/``bonds`` use their own list; ``global`` uses ``stocks``. Other markets (``cfd``,
``futures``, ``options``, ``economics2``) have no list: their columns are not checked and a warning
is recorded.

A column is known for a market when

- it is in the market's list, or among the columns the screener page of that list displays
  (``column_display_names.json``, ``order``: e.g. ``Value.Traded`` on the stock screener);
- it is a translated variant ``<field>.tr`` or a timeframe variant ``<field>|<tf>`` (``tf`` such
  as ``5``, ``60``, ``1W``, ``1M``) of a known field;
- it is one of :data:`SCREENER_ONLY_FIELDS`: presentation fields that the live screener pages send
  in their own request bodies (``main_screeners.json``) but that the metainfo snapshot omits.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clusterfolio.errors import ConfigError

#: Field list file (without ``.json``) of each non-country market.
MARKET_LISTS: dict[str, str] = {
    "global": "stocks",
    "crypto": "crypto",
    "coin": "coin",
    "forex": "forex",
    "bond": "bond",
    "bonds": "bond",
}

#: Country markets, used when ``markets.json`` is absent (its ``countries`` list wins otherwise).
DEFAULT_COUNTRIES: frozenset[str] = frozenset({"america", "uk", "canada", "germany", "japan"})

#: Fields sent by the live screener pages that the metainfo snapshot does not list.
SCREENER_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "ticker-view",
        "base_currency_logoid",
        "currency_logoid",
        "isin-displayed",
        "AnalystRating",
        "TechRating_1D",
        "fundamental_currency_code",
        "Value.Traded",
    }
)


@dataclass(frozen=True)
class FieldInfo:
    """One scanner field: name, value type (``text``, ``number``, ``bool``, ``set`` ...) and the
    allowed values (``None`` when free)."""

    name: str
    type: str
    values: tuple[Any, ...] | None = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc


class FieldCatalog:
    """The scanner field lists of every market.

    Parameters
    ----------
    lists : mapping
        List name (``stocks``, ``crypto`` ...) to ``{field name: FieldInfo}``.
    countries : iterable of str
        Country markets (they use the ``stocks`` list).
    display_fields : mapping, optional
        List name to the fields its screener page displays (known in the markets of that list).
    """

    def __init__(
        self,
        lists: Mapping[str, Mapping[str, FieldInfo]],
        countries: Iterable[str] = DEFAULT_COUNTRIES,
        display_fields: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.lists = {name: dict(fields) for name, fields in lists.items()}
        self.countries = frozenset(countries)
        self.display_fields = {
            name: frozenset(fields) for name, fields in (display_fields or {}).items()
        }

    @classmethod
    def load(cls, metainfo_dir: Path) -> FieldCatalog:
        """Read the field lists of ``metainfo_dir`` (and ``markets.json`` beside it).

        Raises
        ------
        FileNotFoundError
            The folder or one of its five lists is missing.
        ConfigError
            A list is not valid JSON.
        """
        folder = Path(metainfo_dir)
        if not folder.is_dir():
            raise FileNotFoundError(folder)
        lists: dict[str, dict[str, FieldInfo]] = {}
        for name in sorted(set(MARKET_LISTS.values()) | {"stocks"}):
            path = folder / f"{name}.json"
            if not path.is_file():
                raise FileNotFoundError(path)
            entries = _read_json(path)
            fields: dict[str, FieldInfo] = {}
            for entry in entries:
                values = entry.get("r")
                fields[entry["n"]] = FieldInfo(
                    name=entry["n"],
                    type=str(entry.get("t", "")),
                    values=tuple(values) if isinstance(values, list) else None,
                )
            lists[name] = fields
        countries: Iterable[str] = DEFAULT_COUNTRIES
        markets_file = folder.parent / "markets.json"
        if markets_file.is_file():
            markets = _read_json(markets_file)
            if isinstance(markets, dict) and isinstance(markets.get("countries"), list):
                countries = markets["countries"]
        display: dict[str, set[str]] = {}
        names_file = folder.parent / "column_display_names.json"
        if names_file.is_file():
            names = _read_json(names_file)
            order = names.get("order") if isinstance(names, dict) else None
            for page, fields in (order or {}).items():
                list_name = _page_list(str(page))
                if list_name is not None and isinstance(fields, list):
                    display.setdefault(list_name, set()).update(str(f) for f in fields)
        return cls(lists, countries=countries, display_fields=display)

    def list_name(self, market: str) -> str | None:
        """Return the field list used by ``market`` (``None`` when it has none)."""
        if market in self.countries:
            return "stocks"
        return MARKET_LISTS.get(market)

    def fields(self, market: str) -> Mapping[str, FieldInfo] | None:
        """Return the field list of ``market`` (``None`` when it has none)."""
        name = self.list_name(market)
        return None if name is None else self.lists.get(name)

    def info(self, market: str, column: str) -> FieldInfo | None:
        """Return the entry of ``column`` (or of its base field for ``.tr``/``|tf`` variants)."""
        fields = self.fields(market)
        if fields is None:
            return None
        for candidate in _candidates(column):
            if candidate in fields:
                return fields[candidate]
        return None

    def is_known(self, market: str, column: str) -> bool:
        """Whether ``column`` is a known field of ``market`` (see the module docstring)."""
        list_name = self.list_name(market)
        fields = None if list_name is None else self.lists.get(list_name)
        if fields is None:
            return True
        displayed = self.display_fields.get(str(list_name), frozenset())
        return any(
            candidate in fields or candidate in displayed or candidate in SCREENER_ONLY_FIELDS
            for candidate in _candidates(column)
        )

    def exchanges(self, market: str) -> frozenset[str]:
        """Return the exchanges listed for ``market`` (the allowed values of ``exchange``)."""
        info = self.info(market, "exchange")
        if info is None or info.values is None:
            return frozenset()
        return frozenset(str(v) for v in info.values)

    def check_request(self, request: Mapping[str, Any], markets: Iterable[str]) -> list[str]:
        """Check every field a request names (columns, sort key, filter operands).

        Parameters
        ----------
        request : mapping
            A ``/scan`` request body.
        markets : iterable of str
            The markets it is sent to.

        Returns
        -------
        list of str
            Warnings (markets without a field list).

        Raises
        ------
        ConfigError
            A field is unknown in one of the markets; the message names the field, the market
            and the closest known names.
        """
        warnings: list[str] = []
        names = list(request_fields(request))
        for market in markets:
            fields = self.fields(market)
            if fields is None:
                warnings.append(
                    f"market {market!r} has no scanner field list: columns not validated"
                )
                continue
            for where, column in names:
                if not self.is_known(market, column):
                    close = difflib.get_close_matches(column, list(fields), n=3, cutoff=0.75)
                    hint = f"; did you mean {close}?" if close else ""
                    raise ConfigError(
                        f"unknown scanner column {column!r} ({where}) for market {market!r} "
                        f"(field list {self.list_name(market)!r}){hint}"
                    )
        return warnings


_TIMEFRAME = re.compile(r"\d+[SHDWM]?|[SDWM]")


def _page_list(page: str) -> str | None:
    lowered = page.lower()
    for word, list_name in (("stock", "stocks"), ("forex", "forex"), ("coin", "coin")):
        if word in lowered:
            return list_name
    if "crypto" in lowered:
        return "crypto"
    if "bond" in lowered:
        return "bond"
    return None


def _candidates(column: str) -> Iterator[str]:
    yield column
    base = column
    if base.endswith(".tr"):
        base = base[: -len(".tr")]
        yield base
    if "|" in base:
        head, timeframe = base.split("|", 1)
        if _TIMEFRAME.fullmatch(timeframe):
            yield head


def _filter_fields(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        left = node.get("left")
        if isinstance(left, str):
            yield where, left
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _filter_fields(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from _filter_fields(item, where)


def request_fields(request: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield ``(where, field)`` for every field named by a ``/scan`` request body."""
    for column in request.get("columns") or []:
        yield "columns", str(column)
    sort = request.get("sort")
    if isinstance(sort, dict) and isinstance(sort.get("sortBy"), str):
        yield "sort.sortBy", sort["sortBy"]
    yield from _filter_fields(request.get("filter") or [], "filter")
    yield from _filter_fields(request.get("filter2") or {}, "filter2")


#: Location of the field lists relative to the repository root.
METAINFO_RELATIVE = Path("..") / "shared" / "data" / "tradingview" / "shner-elmo" / "metainfo"


def default_metainfo_dir() -> Path:
    """Return the default field-list folder ``../shared/data/tradingview/shner-elmo/metainfo``.

    Relative to the repository root of this checkout (found from this file), else to the working
    directory; the repository-relative path is returned when neither exists.
    """
    repo_root = Path(__file__).resolve().parents[4]
    candidates = [repo_root / METAINFO_RELATIVE, Path.cwd() / METAINFO_RELATIVE]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return (repo_root / METAINFO_RELATIVE).resolve()


@functools.lru_cache(maxsize=8)
def _load_cached(folder: str) -> FieldCatalog:
    return FieldCatalog.load(Path(folder))


def load_catalog(metainfo_dir: Path | None = None) -> tuple[FieldCatalog | None, str | None]:
    """Load the field lists, or explain why columns will not be validated.

    Parameters
    ----------
    metainfo_dir : Path, optional
        Folder of ``{stocks,crypto,forex,bond,coin}.json``; :func:`default_metainfo_dir` when
        omitted.

    Returns
    -------
    (FieldCatalog or None, str or None)
        The catalog (loaded once per folder and process; treat it as read-only), or ``None``
        and the warning to record when the folder or a list is absent.
    """
    folder = Path(metainfo_dir) if metainfo_dir is not None else default_metainfo_dir()
    try:
        return _load_cached(str(folder.resolve())), None
    except FileNotFoundError as exc:
        return None, f"scanner field lists not found ({exc}): screen columns are not validated"
