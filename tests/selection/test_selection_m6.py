"""Natural selection's clustering on real data: the M6 universe (50 US stocks, 50 ETFs).

Returns are computed on each asset's own sessions from ``Adjusted_close`` (the London-listed
``.L`` funds keep their calendar; NaN where an asset did not trade). Windows are the selection's
own: 60 sessions, ``min_overlap`` 20, Ward on the intersection-correlation distance cut at the
default threshold 0.4, exactly as :func:`~clusterfolio.selection.natural.cluster_candidates`
does in the pipeline. Eighteen windows end every 60 sessions back from 2022-04-13 (the oldest
ends in 2019).

Measured (2017-04-18 .. 2022-04-13 data, these settings):

- the bond ETFs TLT, IEF, SHY, LQD share no cluster with any XL* sector ETF in 18 of 18 windows;
- the share of (XL* ETF, window) pairs whose cluster holds a stock of the ETF's GICS sector is
  0.737 (132 of 179; XLC starts late), against 0.15 when the stocks' sector labels are
  permuted (chance). Per ETF: XLF, XLE, XLC, XLU 1.0; XLP 0.94; XLI, XLB 0.67; but XLV 0.44,
  XLK 0.39 and XLY 0.28 stay below one half: XLK and XLY cluster with the broad and global-tech
  ETFs (IVV, IXN, each other) more often than with the few M6 stocks of their sector. The test
  asserts a floor of 0.65 on the pooled share and at least three times the permutation share,
  and prints the figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.manifest import SelectionSettings
from clusterfolio.selection.natural import cluster_candidates, natural_selection

pytestmark = pytest.mark.realdata

SECTOR_ETFS: dict[str, str] = {
    "XLK": "Information Technology",
    "XLF": "Financials",
    "XLV": "Health Care",
    "XLE": "Energy",
    "XLY": "Consumer Discretionary",
    "XLI": "Industrials",
    "XLC": "Communication Services",
    "XLU": "Utilities",
    "XLP": "Consumer Staples",
    "XLB": "Materials",
}
BONDS = ("TLT", "IEF", "SHY", "LQD")
WINDOW = 60
STEP = 60
N_WINDOWS = 18
SHARE_FLOOR = 0.65


@pytest.fixture(scope="module")
def m6(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(returns on own sessions, universe table) of the M6 universe."""
    folder = shared_data / "etfs" / "m6_universe"
    universe = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    series = {}
    for path in sorted(folder.glob("*.csv.gz")):
        raw = pd.read_csv(path, parse_dates=["Date"])
        close = raw.set_index("Date")["Adjusted_close"].astype(float).sort_index()
        close = close[~close.index.duplicated(keep="last")]
        series[path.name.removesuffix(".csv.gz")] = close.pct_change().iloc[1:]
    returns = pd.DataFrame(series).sort_index()
    return returns, universe


def _windows(returns: pd.DataFrame) -> list[pd.DataFrame]:
    ends = [len(returns) - 1 - k * STEP for k in range(N_WINDOWS)]
    return [returns.iloc[e - WINDOW + 1 : e + 1] for e in ends]


@pytest.fixture(scope="module")
def clustered(m6: tuple[pd.DataFrame, pd.DataFrame]) -> list[tuple[pd.DataFrame, pd.Series]]:
    """Each window with its cluster labels (default selection settings)."""
    sel = SelectionSettings()
    out = []
    for window in _windows(m6[0]):
        labels, _, _ = cluster_candidates(
            window, min_overlap=sel.min_overlap, threshold=sel.threshold
        )
        out.append((window, labels))
    return out


def test_bond_etfs_cluster_apart_from_sector_etfs(
    clustered: list[tuple[pd.DataFrame, pd.Series]],
) -> None:
    apart = 0
    for window, labels in clustered:
        bonds = {int(labels[b]) for b in BONDS}
        sectors = {int(labels[e]) for e in SECTOR_ETFS if window[e].count() >= 20}
        apart += not (bonds & sectors)
    print(f"\nM6: bond ETFs apart from XL* sector ETFs in {apart} of {N_WINDOWS} windows")
    assert apart == N_WINDOWS


def test_sector_etfs_share_a_cluster_with_their_stocks(
    m6: tuple[pd.DataFrame, pd.DataFrame], clustered: list[tuple[pd.DataFrame, pd.Series]]
) -> None:
    universe = m6[1]
    stocks = universe[universe["class"] == "Stock"]
    stock_symbols = stocks["symbol"].to_numpy()
    stock_sectors = stocks["GICS_sector/ETF_type"].to_numpy()
    rng = np.random.default_rng(20_260_101)
    hits: dict[str, list[bool]] = {etf: [] for etf in SECTOR_ETFS}
    chance: list[float] = []
    for window, labels in clustered:
        for etf, sector in SECTOR_ETFS.items():
            if window[etf].count() < 20:  # XLC starts in 2018
                continue
            members = set(labels.index[labels == labels[etf]])
            in_cluster = np.array([s in members for s in stock_symbols])
            hits[etf].append(bool((stock_sectors[in_cluster] == sector).any()))
            perms = np.array([rng.permutation(stock_sectors)[in_cluster] for _ in range(100)])
            chance.append(float((perms == sector).any(axis=1).mean()))
    flat = [h for v in hits.values() for h in v]
    share = float(np.mean(flat))
    null = float(np.mean(chance))
    per_etf = {etf: round(float(np.mean(v)), 2) for etf, v in hits.items()}
    print(
        f"\nM6: XL* ETF shares a cluster with a stock of its sector in {sum(flat)} of {len(flat)} "
        f"(ETF, window) pairs: share {share:.3f} (chance {null:.3f}); per ETF {per_etf}"
    )
    assert share >= SHARE_FLOOR
    assert share >= 3.0 * null


def test_natural_selection_on_the_m6_universe(m6: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    returns, universe = m6
    window = _windows(returns)[0]
    pool = pd.DataFrame(
        {
            "symbol": universe["symbol"].to_numpy(),
            "identity": universe["symbol"].to_numpy(),
            "asset_class": np.where(universe["class"] == "Stock", "equity", "etf"),
            "direction": "LONG",
            "score": 0.0,
        }
    )
    # a global cap above the number of clusters: every cluster keeps its leader
    sel = SelectionSettings(top_n=2, momentum_gate=-0.9, max_winners=60)
    result = natural_selection(pool, window, None, settings=sel, xs_momentum=False, baseline="IVV")
    cand = result.candidates.set_index("symbol")
    chosen = cand[cand["fate"] == "selected"]
    assert (chosen.groupby("cluster").size() <= 2).all()
    assert cand.loc["IVV", "fate"] == "baseline"
    assert result.summary["clusters"] >= 10
    # the bond funds are represented: at least one of them is selected
    assert chosen.index.intersection(list(BONDS)).size >= 1
