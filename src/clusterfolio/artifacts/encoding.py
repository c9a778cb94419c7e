"""The one JSON encoding of every artifact: deterministic text, one policy for NaN and inf.

Policy (decided once, for every JSON artifact and the run ledger):

- keys are strings, sorted; two-space indent; UTF-8 (no ASCII escaping); a trailing newline;
- a float that is not finite (NaN, +inf, -inf) is written as ``null``: JSON has no such numbers,
  and ``null`` reads back as "no finite value". A check that must say *which* non-finite value
  it saw says so in its message text;
- numpy scalars and arrays become Python numbers and lists, tuples and sets lists (sets sorted),
  enums their value, dates and timestamps ISO text, paths text.

Before this module, three clean-up functions disagreed: the audit wrote non-finite floats as
the strings ``"nan"``/``"inf"``, the tournament and the profile results as ``null``. The audit
now writes ``null`` too (the default run never holds a non-finite number in ``audit.json``, so
its bytes did not change).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["dumps", "jsonable", "record"]


def jsonable(value: Any) -> Any:
    """Return a JSON-ready copy of ``value`` under the policy of this module.

    Parameters
    ----------
    value : Any
        Mappings, sequences, numpy values, enums, floats, dates ...

    Returns
    -------
    Any
        Plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None`` (dates, paths and
        other objects with ``isoformat`` are left for :func:`dumps`).
    """
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record(obj: Any, *, drop: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """Return the JSON-ready record of a dataclass: its fields in declaration order.

    The one way a result object turns into the dictionary an artifact stores, instead of a
    hand-written ``to_json_dict`` per class.

    Parameters
    ----------
    obj : dataclass instance
        The object; a field that is itself a dataclass becomes its own record.
    drop : tuple of str
        Fields left out.
    **extra : Any
        Keys added after the fields (or replacing a field of the same name), e.g. a derived
        property the artifact also stores.

    Returns
    -------
    dict
        Field name to :func:`jsonable` value; dates and timestamps (in a list or tuple too)
        become ISO text, ``None`` stays ``None``.
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"record() takes a dataclass instance, not {type(obj).__name__}")
    out = {
        f.name: _field_value(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.name not in drop
    }
    out.update({k: _field_value(v) for k, v in extra.items()})
    return out


def _field_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return record(value)
    if isinstance(value, list | tuple):  # of dataclasses, dates ... element by element
        return [_field_value(v) for v in value]
    if isinstance(value, date):  # datetime and pandas Timestamp too
        return value.isoformat()
    return jsonable(value)


def _key(key: Any) -> str:
    if isinstance(key, Enum):
        return str(key.value)
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    return str(key)


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> str:
    """Serialise ``obj`` as the canonical JSON text of an artifact (see the module policy)."""
    return (
        json.dumps(
            jsonable(obj),
            sort_keys=True,
            indent=2,
            ensure_ascii=False,
            allow_nan=False,
            default=_default,
        )
        + "\n"
    )
