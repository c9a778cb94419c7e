"""Artifact names: each defined once, in one family module, and never two files under one name."""

from __future__ import annotations

import importlib
import pkgutil

import clusterfolio.artifacts as package
from clusterfolio.artifacts.state import (
    ACCEPTED_STATE_FILE,
    SYNC_STATE_FILE,
)


def _names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for key, value in vars(module).items():
            if (key.isupper() and isinstance(value, str) and value and "." in value) or (
                key.isupper() and isinstance(value, str) and value.endswith("/")
            ):
                found.setdefault(value, []).append(f"{info.name}.{key}")
    return found


def test_every_file_name_is_defined_once() -> None:
    names = _names()
    assert len(names) > 40
    assert {v: k for v, k in names.items() if len(k) > 1} == {}


def test_the_two_states_are_two_files() -> None:
    assert ACCEPTED_STATE_FILE != SYNC_STATE_FILE
