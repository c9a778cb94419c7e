"""The synthetic market's universe: factors, economic units and the listings that serve them.

:func:`build_universe` turns :class:`~clusterfolio.manifest.SyntheticSettings` and the catalogue
(:mod:`clusterfolio.data.synthetic_catalogue`) into the factors, the economic units (a company, a
fund, a coin, a currency: factor loadings plus GARCH Student-t noise) and the listing models
(how each listing's price follows its units). Every draw comes from a stream derived from
``(seed, labels)`` by hashing (:func:`stream`), so adding listings does not change the others.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clusterfolio.data.schema import Listing
from clusterfolio.data.synthetic_catalogue import (
    Fund,
    Sector,
    catalogue,
    industry_factor,
    sector_factor,
)
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import SyntheticSettings

_CATALOGUE = catalogue()
_SECTORS = _CATALOGUE.sectors
_ONSETS = _CATALOGUE.onsets
_CODAS = _CATALOGUE.codas
_ETFS = _CATALOGUE.funds
#: Order in which fund categories are drawn (round robin), so a small market keeps every class.
_ETF_ORDER = _CATALOGUE.fund_order
_COINS = _CATALOGUE.coins
#: Coins (by rank, Bitcoin excluded) also quoted in BTC on Binance.
_BTC_PAIRS = _CATALOGUE.btc_pairs
_VENUES = _CATALOGUE.venues
_CURRENCIES = _CATALOGUE.currencies
#: Market convention: the currency listed first in a pair is the one ranked first here.
_PAIR_ORDER = _CATALOGUE.pair_order
_BASE_FACTORS = _CATALOGUE.base_factors
_ENERGY = "Energy"


@dataclass(frozen=True)
class Unit:
    """An economic unit: its returns load on factors and add GARCH Student-t noise."""

    key: str
    exposures: tuple[tuple[str, float], ...]
    idio: float
    drift: float
    df: float
    ftq: float = 0.0
    alpha: float = 0.05
    beta: float = 0.92


@dataclass(frozen=True)
class Model:
    """How a listing is served: its log price is ``unit[pos] - unit[neg] + basis``."""

    listing: Listing
    pos: str
    neg: str | None
    price: float
    log_dollar_volume: float
    basis_sd: float = 0.0
    gap_frac: float = 0.3
    open_noise: float = 0.12


@dataclass
class Universe:
    factors: dict[str, tuple[float, float, float, float]]
    units: list[Unit]
    models: list[Model]
    coins: int = 0
    sector_counts: dict[str, int] = field(default_factory=dict)


def stream(seed: int, *labels: str) -> np.random.Generator:
    """Return an independent generator for ``(seed, *labels)`` (stable across processes)."""
    text = "\x1f".join((str(seed), *labels))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").astype(np.uint64)
    return np.random.default_rng(np.random.SeedSequence(words.tolist()))


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` by ``weights`` (largest remainders), at least one each."""
    n = len(weights)
    if total < n:
        raise ConfigError(f"data.synthetic: {total} is fewer than the {n} groups to fill")
    raw = np.asarray(weights, dtype=float) / float(np.sum(weights)) * (total - n)
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: (total - n) - int(base.sum())]] += 1
    return [int(b) + 1 for b in base]


def _letters_ticker(rng: np.random.Generator, length: int) -> str:
    return "".join(chr(ord("A") + int(i)) for i in rng.integers(0, 26, size=length))


def _reserved_tickers() -> set[str]:
    return {etf.ticker for group in _ETFS.values() for etf in group}


def _equities(settings: SyntheticSettings, taken: set[str]) -> tuple[list[Unit], list[Model]]:
    rng = stream(settings.seed, "universe", "equities")
    counts = _allocate(settings.n_equities, [s.weight for s in _SECTORS])
    names: set[str] = set()
    units: list[Unit] = []
    models: list[Model] = []
    for sector, count in zip(_SECTORS, counts, strict=True):
        for _ in range(count):
            unit, model = _equity(rng, sector, names, taken)
            units.append(unit)
            models.append(model)
    return units, models


def _name_and_ticker(
    rng: np.random.Generator, suffixes: tuple[str, ...], names: set[str], taken: set[str]
) -> tuple[str, str, str]:
    """Draw a new company name root, its suffix and a free ticker (in this draw order)."""
    root = ""
    while not root or root in names:
        root = _ONSETS[int(rng.integers(len(_ONSETS)))] + _CODAS[int(rng.integers(len(_CODAS)))]
        if rng.random() < 0.3:
            root += _CODAS[int(rng.integers(len(_CODAS)))]
    names.add(root)
    suffix = suffixes[int(rng.integers(len(suffixes)))]
    candidates = [root[:4].upper(), root[:3].upper(), (root[:2] + suffix[0]).upper()]
    ticker = next((c for c in candidates if c.isalpha() and c not in taken), "")
    while not ticker or ticker in taken:
        ticker = root[0].upper() + _letters_ticker(rng, int(rng.integers(2, 4)))
    taken.add(ticker)
    return root, suffix, ticker


def _equity(
    rng: np.random.Generator, sector: Sector, names: set[str], taken: set[str]
) -> tuple[Unit, Model]:
    """One company of ``sector``: its economic unit and its listing (draw order is fixed)."""
    industry, suffixes = sector.industries[int(rng.integers(len(sector.industries)))]
    root, suffix, ticker = _name_and_ticker(rng, suffixes, names, taken)
    exchange = "NASDAQ" if rng.random() < sector.nasdaq_share else "NYSE"
    cap = float(np.clip(np.exp(rng.normal(math.log(1.5e10 * sector.cap_scale), 1.2)), 3e8, 3.5e12))
    beta = float(np.clip(sector.beta + rng.normal(0.0, 0.2), 0.25, 2.2))
    s_load = float(np.clip(rng.normal(1.0, 0.25), 0.3, 1.8))
    i_load = float(np.clip(rng.normal(1.0, 0.3), 0.2, 2.0))
    idio_mult = 1.5 if industry == "Biotechnology" else 1.0
    idio = float(np.clip(0.007 * (cap / 1.5e10) ** -0.12 * idio_mult, 0.004, 0.03))
    exposures: list[tuple[str, float]] = [
        ("global", beta),
        (sector_factor(sector.name), s_load),
        (industry_factor(sector.name, industry), i_load),
    ]
    if sector.name == _ENERGY:
        exposures.append(("energy_commodity", 0.35))
    if industry == "Metals & Mining":
        exposures.append(("gold", 0.25))
    symbol = f"{exchange}:{ticker}"
    name = f"{root} {suffix}"
    price = float(np.clip(np.exp(rng.normal(math.log(60.0), 0.8)), 3.0, 900.0))
    turnover = float(np.exp(rng.normal(math.log(0.006), 0.4)))
    drift = float(rng.normal(0.0002, 0.00025))
    unit = Unit(symbol, tuple(exposures), idio, drift, 5.0, alpha=0.05, beta=0.92)
    listing = Listing(
        symbol=symbol,
        asset_class=AssetClass.EQUITY,
        calendar=CalendarKind.NYSE,
        description=(
            f"{name}: a synthetic {industry.lower()} company "
            f"({sector.name} sector), listed on {exchange}."
        ),
        sector=sector.name,
        industry=industry,
        market_cap=cap,
        extra={"name": name},
    )
    model = Model(
        listing, pos=symbol, neg=None, price=price, log_dollar_volume=math.log(cap * turnover)
    )
    return unit, model


def _etf_specs(n_etfs: int, seed: int, taken: set[str]) -> list[Fund]:
    queues = {k: list(_ETFS[k]) for k in _ETF_ORDER}
    chosen: list[Fund] = []
    while len(chosen) < n_etfs and any(queues.values()):
        for key in _ETF_ORDER:
            if queues[key] and len(chosen) < n_etfs:
                chosen.append(queues[key].pop(0))
    rng = stream(seed, "universe", "extra-etfs")
    k = 0
    while len(chosen) < n_etfs:  # more funds than the catalogue: sector tilts
        sector = _SECTORS[k % len(_SECTORS)]
        ticker = ""
        while not ticker or ticker in taken:
            ticker = "X" + _letters_ticker(rng, 3)
        taken.add(ticker)
        chosen.append(
            Fund(
                ticker, "ARCA", "sector", AssetClass.ETF,
                f"US equities tilted to {sector.name}", 50.0, 5e7,
                (("global", 1.0), (sector_factor(sector.name), 0.8)), 0.003,
            )
        )  # fmt: skip
        k += 1
    return chosen


def _etfs(settings: SyntheticSettings, taken: set[str]) -> tuple[list[Unit], list[Model]]:
    units: list[Unit] = []
    models: list[Model] = []
    for etf in _etf_specs(settings.n_etfs, settings.seed, taken):
        symbol = f"{etf.exchange}:{etf.ticker}"
        units.append(Unit(symbol, etf.exposures, etf.idio, etf.drift, 6.0, ftq=etf.ftq, alpha=0.04))
        models.append(
            Model(
                Listing(
                    symbol=symbol,
                    asset_class=etf.asset_class,
                    calendar=CalendarKind.NYSE,
                    description=f"{etf.description} (synthetic {etf.ticker}-like fund)",
                    extra={"category": etf.category},
                ),
                pos=symbol,
                neg=None,
                price=etf.price,
                log_dollar_volume=math.log(etf.dollar_volume),
                gap_frac=0.3,
                open_noise=0.08,
            )
        )
    return units, models


def _crypto(settings: SyntheticSettings) -> tuple[list[Unit], list[Model]]:
    rng = stream(settings.seed, "universe", "crypto")
    n = settings.n_crypto_coins
    coins = list(_COINS[:n])
    taken = {c[0] for c in coins}
    while len(coins) < n:
        ticker = _letters_ticker(rng, 4)
        if ticker not in taken:
            taken.add(ticker)
            coins.append((ticker, f"{ticker.title()} Token", float(np.exp(rng.normal(0.0, 2.0)))))
    units: list[Unit] = []
    models: list[Model] = []
    for rank, (ticker, name, price) in enumerate(coins):
        beta = 1.2 if rank == 0 else float(np.clip(rng.normal(1.4, 0.2), 0.8, 2.0))
        c_load = 0.8 if rank == 0 else float(np.clip(rng.normal(1.1, 0.1), 0.8, 1.4))
        idio = 0.012 if rank == 0 else (0.02 if rank == 1 else 0.025 + 0.0007 * rank)
        drift = float(rng.normal(0.0005, 0.0008))
        exposures = (("global", beta), ("crypto", c_load))
        units.append(Unit(f"coin:{ticker}", exposures, idio, drift, 4.0, alpha=0.08, beta=0.88))
        models += _coin_listings(rank, (ticker, name, price), n, coins[0])
    return units, models


def _coin_listings(
    rank: int, coin: tuple[str, str, float], n: int, bitcoin: tuple[str, str, float]
) -> list[Model]:
    """The listings of the coin of ``rank``: one per venue covering it, and a BTC pair."""
    ticker, name, price = coin
    cap = 1.2e12 * (rank + 1) ** -1.6
    key = f"coin:{ticker}"
    models: list[Model] = []
    for venue in _VENUES:
        if rank >= max(1, math.ceil(venue.coverage * n)):
            continue
        listing = Listing(
            symbol=f"{venue.exchange}:{ticker}{venue.quote}{venue.suffix}",
            asset_class=AssetClass.CRYPTO,
            calendar=CalendarKind.CRYPTO_24_7,
            description=f"{name} / {venue.quote} {venue.instrument} on "
            f"{venue.exchange} (synthetic)",
            market_cap=cap,
            base=ticker,
            quote=venue.quote,
            extra={"coin": ticker, "instrument": venue.instrument},
        )
        volume = math.log(cap * 0.03 * venue.share)
        models.append(
            Model(listing, key, None, price, volume, venue.basis_sd, gap_frac=0.0, open_noise=0.0)
        )
    if 0 < rank <= _BTC_PAIRS:
        listing = Listing(
            symbol=f"BINANCE:{ticker}BTC",
            asset_class=AssetClass.CRYPTO,
            calendar=CalendarKind.CRYPTO_24_7,
            description=f"{name} / Bitcoin spot on BINANCE (synthetic)",
            market_cap=cap,
            base=ticker,
            quote="BTC",
            extra={"coin": ticker, "instrument": "spot"},
        )
        volume = math.log(cap * 0.03 * 0.03)
        pair = Model(
            listing, key, f"coin:{bitcoin[0]}", price / bitcoin[2], volume, 0.001, 0.0, 0.0
        )
        models.append(pair)
    return models


def _forex(settings: SyntheticSettings) -> tuple[list[Unit], list[Model]]:
    n = settings.n_forex
    codes = [c[0] for c in _CURRENCIES]
    m = 2
    while m * (m - 1) // 2 < n:
        m += 1
        if m > len(codes):
            limit = len(codes) * (len(codes) - 1) // 2
            raise ConfigError(f"data.synthetic.n_forex: at most {limit} pairs, got {n}")
    pairs = sorted(
        ((i, j) for j in range(m) for i in range(j)),
        key=lambda p: (max(p), 0 if 0 in p else 1, min(p)),
    )[:n]
    used = sorted({c for p in pairs for c in p})
    units = [
        Unit(
            f"ccy:{codes[k]}",
            (("global", _CURRENCIES[k][2]), ("fx:europe", _CURRENCIES[k][3])),
            _CURRENCIES[k][4],
            0.0,
            6.0,
            alpha=0.05,
            beta=0.92,
        )
        for k in used
    ]
    models: list[Model] = []
    for importance, (i, j) in enumerate(pairs):
        a, b = codes[i], codes[j]
        base, quote = (a, b) if _PAIR_ORDER.index(a) < _PAIR_ORDER.index(b) else (b, a)
        value = {c[0]: c[1] for c in _CURRENCIES}
        symbol = f"FX_IDC:{base}{quote}"
        models.append(
            Model(
                Listing(
                    symbol=symbol,
                    asset_class=AssetClass.FOREX,
                    calendar=CalendarKind.FOREX_24_5,
                    description=f"{base}/{quote} spot exchange rate (synthetic)",
                    base=base,
                    quote=quote,
                ),
                pos=f"ccy:{base}",
                neg=f"ccy:{quote}",
                price=value[base] / value[quote],
                log_dollar_volume=math.log(5e9 / (1.0 + 0.3 * importance)),
                gap_frac=0.0,
                open_noise=0.03,
            )
        )
    return units, models


def build_universe(settings: SyntheticSettings) -> Universe:
    factors = dict(_BASE_FACTORS)
    for sector in _SECTORS:
        factors[sector_factor(sector.name)] = (sector.vol, 5.0, 0.07, 0.90)
        for industry, _ in sector.industries:
            factors[industry_factor(sector.name, industry)] = (1.0 * sector.vol, 5.0, 0.05, 0.90)
    taken = _reserved_tickers()
    parts = [
        _etfs(settings, taken),
        _equities(settings, taken),
        _crypto(settings),
        _forex(settings),
    ]
    units = [u for p in parts for u in p[0]]
    models = [m for p in parts for m in p[1]]
    symbols = [m.listing.symbol for m in models]
    if len(set(symbols)) != len(symbols):  # pragma: no cover - catalogue invariant
        dup = next(s for s, c in Counter(symbols).items() if c > 1)
        raise ConfigError(f"data.synthetic: duplicated symbol {dup}")
    sector_counts = Counter(m.listing.sector for m in models if m.listing.sector)
    return Universe(factors, units, models, settings.n_crypto_coins, dict(sector_counts))
