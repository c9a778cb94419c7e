"""The catalogue of the synthetic market, read from ``catalogue/synthetic_market.json``.

The data file ships inside the package (beside this module): GICS sectors and their industries
with the name parts of their companies, the funds by category (ticker, exchange, asset class,
description, price, dollar volume, factor exposures, idiosyncratic volatility, flight-to-quality
term, drift), the syllables company names are drawn from, coins by rank, crypto venues,
currencies and the base factors. :func:`catalogue` reads it once and returns typed records;
:mod:`clusterfolio.data.synthetic_universe` builds the listings from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from clusterfolio.enums import AssetClass
from clusterfolio.errors import ConfigError

CATALOGUE_FILE = "synthetic_market.json"


@dataclass(frozen=True)
class Sector:
    """A GICS sector: equity weight, beta, factor volatility, Nasdaq share, cap scale and its
    industries with the name suffixes of their companies."""

    name: str
    weight: float
    beta: float
    vol: float
    nasdaq_share: float
    cap_scale: float
    industries: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Fund:
    """A fund of the catalogue (or a generated sector tilt)."""

    ticker: str
    exchange: str
    category: str
    asset_class: AssetClass
    description: str
    price: float
    dollar_volume: float
    exposures: tuple[tuple[str, float], ...]
    idio: float
    ftq: float = 0.0
    drift: float = 0.0


@dataclass(frozen=True)
class Venue:
    """A crypto venue: quote currency, symbol suffix (``.P`` perpetual), volume share, coverage
    of the coins by rank, and the basis volatility of its listings."""

    exchange: str
    quote: str
    suffix: str
    share: float
    coverage: float
    basis_sd: float

    @property
    def instrument(self) -> str:
        """``perpetual`` or ``spot``."""
        return "perpetual" if self.suffix == ".P" else "spot"


@dataclass(frozen=True)
class Catalogue:
    """Every record of the data file, in the file's order (the order is part of the market)."""

    sectors: tuple[Sector, ...]
    onsets: tuple[str, ...]
    codas: tuple[str, ...]
    fund_order: tuple[str, ...]
    funds: dict[str, tuple[Fund, ...]]
    coins: tuple[tuple[str, str, float], ...]
    btc_pairs: int
    venues: tuple[Venue, ...]
    #: code, USD value at the epoch, global beta, European-block beta, own daily volatility
    currencies: tuple[tuple[str, float, float, float, float], ...]
    pair_order: tuple[str, ...]
    #: factor -> (daily volatility in the NORMAL regime, Student-t df, GARCH alpha, GARCH beta)
    base_factors: dict[str, tuple[float, float, float, float]]


def _fund(category: str, raw: dict[str, Any]) -> Fund:
    return Fund(
        ticker=str(raw["ticker"]),
        exchange=str(raw["exchange"]),
        category=category,
        asset_class=AssetClass(raw["asset_class"]),
        description=str(raw["description"]),
        price=float(raw["price"]),
        dollar_volume=float(raw["dollar_volume"]),
        exposures=tuple((str(k), float(v)) for k, v in raw["exposures"]),
        idio=float(raw["idio"]),
        ftq=float(raw["ftq"]),
        drift=float(raw["drift"]),
    )


def _parse(raw: dict[str, Any]) -> Catalogue:
    return Catalogue(
        sectors=tuple(
            Sector(
                name=str(s["name"]),
                weight=float(s["weight"]),
                beta=float(s["beta"]),
                vol=float(s["vol"]),
                nasdaq_share=float(s["nasdaq_share"]),
                cap_scale=float(s["cap_scale"]),
                industries=tuple((str(i), tuple(map(str, p))) for i, p in s["industries"]),
            )
            for s in raw["sectors"]
        ),
        onsets=tuple(map(str, raw["name_onsets"])),
        codas=tuple(map(str, raw["name_codas"])),
        fund_order=tuple(map(str, raw["fund_order"])),
        funds={k: tuple(_fund(k, f) for f in v) for k, v in raw["funds"].items()},
        coins=tuple((str(t), str(n), float(p)) for t, n, p in raw["coins"]),
        btc_pairs=int(raw["btc_pairs"]),
        venues=tuple(Venue(**v) for v in raw["venues"]),
        currencies=tuple(
            (
                str(c["code"]),
                float(c["usd_value"]),
                float(c["global_beta"]),
                float(c["europe_beta"]),
                float(c["vol"]),
            )
            for c in raw["currencies"]
        ),
        pair_order=tuple(map(str, raw["pair_order"])),
        base_factors={
            k: (float(v["vol"]), float(v["df"]), float(v["alpha"]), float(v["beta"]))
            for k, v in raw["base_factors"].items()
        },
    )


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The catalogue shipped with the package (read once).

    Raises
    ------
    ConfigError
        The data file is missing, not JSON, or lacks a key (the message names file and key).
    """
    source = resources.files("clusterfolio.data") / "catalogue" / CATALOGUE_FILE
    try:
        return _parse(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"synthetic catalogue {source}: unreadable ({exc})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"synthetic catalogue {source}: bad or missing entry {exc}") from exc


def sector_factor(name: str) -> str:
    """The factor key of a sector."""
    return f"sector:{name}"


def industry_factor(sector: str, industry: str) -> str:
    """The factor key of an industry of a sector."""
    return f"industry:{sector}/{industry}"
