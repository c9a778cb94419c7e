"""The production synthetic market is pinned: a refactor of the generator must not move a byte."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pandas as pd
import pytest

from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.manifest import SyntheticSettings

AS_OF = date(2026, 11, 20)
#: Hashes taken on the generator before the catalogue moved into package data (issue 15).
CATALOGUE_SHA256 = "014c9ddedf8881baf035508ffb329f3c88e911cadae9485360cda6e31e247a59"
FRAMES_SHA256 = "9cbfd510f52d9950706d7111a7202ca5d2787a5e99ae6300aa36976e2105628e"


@pytest.fixture(scope="module")
def provider() -> SyntheticProvider:
    return SyntheticProvider(SyntheticSettings(), AS_OF)


def test_default_catalogue_is_byte_identical(provider: SyntheticProvider) -> None:
    rows = [
        (x.symbol, str(x.asset_class), x.description, x.market_cap, x.sector)
        for x in provider.listings()
    ]
    assert len(rows) == 1007
    digest = hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()
    assert digest == CATALOGUE_SHA256


def test_default_frames_are_byte_identical(provider: SyntheticProvider) -> None:
    symbols = [x.symbol for x in provider.listings()]
    picks = [symbols[i] for i in (0, 1, len(symbols) // 3, len(symbols) // 2, -2, -1)]
    digest = hashlib.sha256()
    for symbol in [*picks, "AMEX:SPY"]:
        frame = provider.candles(symbol, date(2019, 1, 1), AS_OF)
        digest.update(symbol.encode())
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    assert digest.hexdigest() == FRAMES_SHA256
