"""Artifact input and output: Parquet and CSV that do not depend on the pandas version."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.io import parquet_bytes, read_csv_exactly

# pandas 3's default text dtype (pandas 2.3 knows it too, without making it the default)
DEFAULT_STR = pd.StringDtype(na_value=np.nan)


def _frame(text: Any) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"sector": ["Finance", None, "Utilities"], "close": [1.0, 2.5, 3.0]},
        index=pd.Index(["NYSE:A", "NYSE:B", "NYSE:C"], name="symbol", dtype=text),
    ).astype({"sector": text})
    frame.columns = pd.Index(list(frame.columns), dtype=text)
    return frame


def test_parquet_stores_text_the_same_way_on_every_pandas() -> None:
    data = parquet_bytes(_frame(object))
    assert parquet_bytes(_frame(DEFAULT_STR)) == data
    table = pq.read_table(pa.BufferReader(data))
    assert table.schema.field("sector").type == pa.string()
    meta = json.loads(table.schema.metadata[b"pandas"])
    assert "pandas_version" not in meta  # nothing in the file names the pandas that wrote it
    assert {c["name"]: c["pandas_type"] for c in meta["columns"]}["sector"] == "unicode"
    back = table.to_pandas()
    assert back.index.name == "symbol" and list(back.index) == ["NYSE:A", "NYSE:B", "NYSE:C"]
    assert back["sector"].isna().tolist() == [False, True, False]
    assert parquet_bytes(back) == data  # what is read back writes the same bytes


def test_csv_floats_read_back_exactly() -> None:
    # pandas 2's C parser reads these one or more units in the last place off
    text = "symbol,notional,weight\nA,150412.42094607707,0.09222645732240567\nB,,0.5\n"
    frame = read_csv_exactly(text)
    assert frame["notional"].tolist()[0] == 150412.42094607707
    assert np.isnan(frame["notional"].iloc[1])
    assert frame["weight"].tolist() == [0.09222645732240567, 0.5]
    assert frame["symbol"].tolist() == ["A", "B"]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_csv_reads_every_written_float_back(values: list[float]) -> None:
    text = pd.DataFrame({"x": values}).to_csv(index=False)
    assert read_csv_exactly(text)["x"].tolist() == values
