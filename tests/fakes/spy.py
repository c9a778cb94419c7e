"""A spy for tests: note each call of a function or method, then run the real one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def spy(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, note: Callable[..., object]
) -> None:
    """Replace ``owner.name`` (undone with ``monkeypatch``) by a wrapper that passes each call's
    arguments to ``note`` (``self`` first for a method of a class) and then calls the original.
    """
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        note(*args, **kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
