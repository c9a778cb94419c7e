"""The one JSON encoder: deterministic text, non-finite floats as null."""

from __future__ import annotations

import json
import math
from datetime import date
from enum import StrEnum
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.artifacts.encoding import dumps, jsonable
from clusterfolio.io import canonical_json


class _Colour(StrEnum):
    RED = "red"


def test_non_finite_floats_are_null_everywhere() -> None:
    doc = {"a": math.nan, "b": [math.inf, -math.inf], "c": np.float64("nan"), "d": (1.5, 2)}
    assert json.loads(dumps(doc)) == {"a": None, "b": [None, None], "c": None, "d": [1.5, 2]}


def test_plain_values_keep_their_json_text() -> None:
    doc = {
        "z": 1,
        "a": np.int64(3),
        "e": _Colour.RED,
        1: np.array([0.25, 0.5]),
        "s": {"b", "a"},
        "when": date(2026, 11, 20),
        "p": Path("x/y"),
    }
    text = dumps(doc)
    assert text.endswith("}\n") and text == canonical_json(doc)
    assert json.loads(text) == {
        "1": [0.25, 0.5],
        "a": 3,
        "e": "red",
        "p": "x/y",
        "s": ["a", "b"],
        "when": "2026-11-20",
        "z": 1,
    }
    assert list(json.loads(text)) == sorted(json.loads(text))


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_any_document_encodes_as_strict_json(doc: object) -> None:
    text = dumps(doc)
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert dumps(json.loads(text)) == text
    assert jsonable(json.loads(text)) == json.loads(text)


def test_record_of_a_dataclass_is_json_ready_in_field_order() -> None:
    from dataclasses import dataclass
    from datetime import date

    from clusterfolio.artifacts.encoding import record
    from clusterfolio.enums import StepStatus

    @dataclass(frozen=True)
    class Inner:
        x: float

    @dataclass(frozen=True)
    class Outer:
        name: str
        day: date | None
        status: StepStatus
        value: float
        inner: Inner
        items: tuple[Inner, ...]
        secret: str = "s"

    obj = Outer(
        "a", date(2024, 1, 2), StepStatus.COMPLETED, float("nan"), Inner(1.5), (Inner(2.0),)
    )
    out = record(obj, drop=("secret",), extra_key=3)
    assert list(out) == ["name", "day", "status", "value", "inner", "items", "extra_key"]
    assert out["day"] == "2024-01-02"
    assert out["status"] == StepStatus.COMPLETED.value
    assert out["value"] is None
    assert out["inner"] == {"x": 1.5}
    assert out["items"] == [{"x": 2.0}]
    assert record(Outer("b", None, StepStatus.PENDING, 1.0, Inner(0.0), ()))["day"] is None


def test_record_writes_dates_in_a_sequence_as_iso_text() -> None:
    from dataclasses import dataclass

    from clusterfolio.artifacts.encoding import record

    @dataclass(frozen=True)
    class Sessions:
        days: tuple[date, ...]
        values: list[float]

    out = record(Sessions((date(2024, 1, 2), date(2024, 1, 3)), [1.0, math.inf]))
    assert out == {"days": ["2024-01-02", "2024-01-03"], "values": [1.0, None]}
