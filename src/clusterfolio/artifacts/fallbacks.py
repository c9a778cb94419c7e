"""Typed fallback records: every deviation from a first choice, as written and read back.

A fallback is stored in an artifact (a profile of ``portfolio_optimized.json``, a step of the run
ledger) as a flat JSON object ``{"kind": ..., "detail": ..., <kind-specific keys>}``.
:class:`Fallback` is that object in Python: producers build one, writers call
:meth:`Fallback.to_record`, readers call :meth:`Fallback.from_record` (or :func:`fallbacks_of`)
and compare :attr:`Fallback.kind` with a :class:`FallbackKind` rather than a copied string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Fallback", "FallbackKind", "fallbacks_of"]


class FallbackKind(StrEnum):
    """Kinds of recorded fallbacks (a deviation from a profile's first-choice method)."""

    SOLVER = "solver"
    """A solver of the chain failed and the next one was tried."""
    CAP_RELAXATION = "cap_relaxation"
    """Infeasible caps were raised to the smallest feasible value plus a margin."""
    CAP_PROJECTION = "cap_projection"
    """Caps bound on a profile that does not include them; weights were projected."""
    COVARIANCE_REPAIR = "covariance_repair"
    """The pairwise covariance was not PSD and was repaired by eigenvalue clipping."""
    NO_POSITIVE_EXCESS_RETURN = "no_positive_excess_return"
    """max_sharpe had no portfolio with positive excess return; minimum variance was used."""
    BARBELL_AGGRESSORS = "barbell_aggressors"
    """Fewer aggressors than asked (too few distinct clusters or antifragility scores)."""
    BARBELL_SHARE = "barbell_share"
    """The aggressor share was reduced so that each aggressor respects its caps."""


@dataclass(frozen=True)
class Fallback:
    """One recorded fallback.

    Attributes
    ----------
    kind : str
        A :class:`FallbackKind` value for the optimiser's fallbacks; a step's own kind otherwise
        (``baseline``, ``forward_fill``, ``regime:warming_up``, ``<profile>:<kind>`` ...).
    detail : str or None
        What happened, for people (``None``: the record has no ``detail`` key).
    extra : mapping
        The kind-specific keys (``cap``, ``from``, ``to`` of a cap relaxation ...).
    """

    kind: str
    detail: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def is_kind(self, *kinds: StrEnum | str) -> bool:
        """Whether :attr:`kind` is one of ``kinds``."""
        return self.kind in {str(k) for k in kinds}

    @property
    def text(self) -> str:
        """The detail, else the kind (one line for a report)."""
        return self.kind if self.detail is None else self.detail

    def get(self, key: str, default: Any = None) -> Any:
        """A kind-specific value (``extra[key]``), ``default`` when absent."""
        return self.extra.get(key, default)

    def to_record(self) -> dict[str, Any]:
        """The stored form: ``{"kind", "detail", **extra}``."""
        out: dict[str, Any] = {"kind": str(self.kind)}
        if self.detail is not None:
            out["detail"] = self.detail
        return {**out, **self.extra}

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | Fallback) -> Fallback:
        """Read a stored record (a :class:`Fallback` is returned as is)."""
        if isinstance(record, Fallback):
            return record
        extra = {k: v for k, v in record.items() if k not in ("kind", "detail")}
        detail = record.get("detail")
        return cls(str(record.get("kind", "")), None if detail is None else str(detail), extra)


def fallbacks_of(raw: Any) -> list[Fallback]:
    """The fallbacks of a stored list (anything but a list of objects gives none)."""
    if not isinstance(raw, Iterable) or isinstance(raw, str | bytes | Mapping):
        return []
    return [Fallback.from_record(r) for r in raw if isinstance(r, Mapping | Fallback)]
