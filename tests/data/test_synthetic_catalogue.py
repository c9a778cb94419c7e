"""The synthetic market's catalogue is package data, read into typed records."""

from __future__ import annotations

from importlib import resources

from clusterfolio.data.synthetic_catalogue import (
    CATALOGUE_FILE,
    catalogue,
    industry_factor,
    sector_factor,
)


def test_the_catalogue_ships_inside_the_package() -> None:
    assert (resources.files("clusterfolio.data") / "catalogue" / CATALOGUE_FILE).is_file()


def test_every_exposure_names_a_factor_of_the_market() -> None:
    cat = catalogue()
    assert len(cat.sectors) == 11 and set(cat.fund_order) == set(cat.funds)
    factors = set(cat.base_factors)
    for sector in cat.sectors:
        factors.add(sector_factor(sector.name))
        factors.update(industry_factor(sector.name, i) for i, _ in sector.industries)
    for funds in cat.funds.values():
        for fund in funds:
            assert {name for name, _ in fund.exposures} <= factors, fund.ticker
    assert abs(sum(s.weight for s in cat.sectors) - 1.0) < 1e-9
    assert len({c[0] for c in cat.currencies}) == len(cat.pair_order)
