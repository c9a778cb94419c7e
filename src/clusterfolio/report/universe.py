"""How the tournament's universe moved across its windows, and the look-ahead label.

With ``backtest.universe = point_in_time`` every window holds the universe chosen at (or
before) its training end; :func:`universe_changes` lists, per window, the symbols that entered,
left or flipped direction against the previous window, and how many of them differ from the
as-of winners. With ``as_of_winners`` every report carries :func:`look_ahead_banner`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clusterfolio.enums import UniverseMode
from clusterfolio.report.artifacts import WINNERS, RunArtifacts
from clusterfolio.report.markdown import Markdown

__all__ = [
    "LOOK_AHEAD_BANNER",
    "as_of_winners",
    "look_ahead_banner",
    "render_universe_changes",
    "universe_changes",
    "universe_mode",
]

LOOK_AHEAD_BANNER = (
    "> ⚠ **Look-ahead: `backtest.universe = as_of_winners`.** Every walk-forward window held the "
    "universe and the directions chosen at the as-of date, from data the past windows could not "
    "have seen. The tournament's figures overstate what could have been earned; rerun with "
    "`backtest.universe=point_in_time` before relying on them."
)
"""The banner of every report of a run whose tournament used the as-of winners."""

_SHOWN = 6


def universe_mode(summary: Mapping[str, Any] | None) -> UniverseMode | None:
    """The tournament's universe mode (None when the summary predates the setting)."""
    if not summary:
        return None
    value = (summary.get("settings") or {}).get("universe")
    try:
        return UniverseMode(str(value))
    except ValueError:
        return None


def look_ahead_banner(summary: Mapping[str, Any] | None) -> str | None:
    """:data:`LOOK_AHEAD_BANNER` for an ``as_of_winners`` tournament, else None."""
    return LOOK_AHEAD_BANNER if universe_mode(summary) is UniverseMode.AS_OF_WINNERS else None


def as_of_winners(arts: RunArtifacts) -> dict[str, str] | None:
    """The run's ``winners.json`` as symbol -> direction (the baseline left out)."""
    doc = arts.json(WINNERS)
    if not isinstance(doc, dict):
        return None
    return {
        str(w["symbol"]): str(w.get("direction", "LONG"))
        for w in doc.get("winners", [])
        if isinstance(w, dict) and "symbol" in w and not w.get("baseline")
    }


def _held(window: Mapping[str, Any]) -> dict[str, str]:
    decision = window.get("decision") or {}
    symbols = decision.get("symbols") or {}
    return {str(k): str(v) for k, v in symbols.items()} if isinstance(symbols, dict) else {}


def universe_changes(
    windows: Sequence[Mapping[str, Any]], as_of_winners: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Entries, exits and direction flips of each window against the previous decided one.

    Parameters
    ----------
    windows : sequence of dict
        ``tournament_summary.json["windows"]`` (each decision with ``symbols``:
        symbol -> direction).
    as_of_winners : mapping, optional
        The as-of winners (symbol -> direction) to count the differences against.

    Returns
    -------
    list of dict
        Per decided window: ``index``, ``train_end``, ``chosen_at``, ``size``, ``entries``,
        ``exits``, ``flips`` (sorted symbol lists) and ``vs_as_of`` (symbols or directions
        that differ from the as-of winners; None without them).
    """
    out: list[dict[str, Any]] = []
    previous: dict[str, str] | None = None
    for window in windows:
        held = _held(window)
        if not held:
            continue
        selection = (window.get("decision") or {}).get("selection") or {}
        before = previous or {}
        row: dict[str, Any] = {
            "index": window.get("index"),
            "train_end": str(window.get("train_end", ""))[:10],
            "chosen_at": str(selection.get("chosen_at", ""))[:10] or None,
            "size": len(held),
            "entries": sorted(set(held) - set(before)) if previous is not None else [],
            "exits": sorted(set(before) - set(held)),
            "flips": sorted(s for s in held if s in before and before[s] != held[s]),
            "vs_as_of": None,
        }
        if as_of_winners is not None:
            differ = set(held) ^ set(as_of_winners)
            differ |= {s for s in held if s in as_of_winners and as_of_winners[s] != held[s]}
            row["vs_as_of"] = len(differ)
        out.append(row)
        previous = held
    return out


def _names(symbols: Sequence[str]) -> str:
    if not symbols:
        return "—"
    shown = ", ".join(symbols[:_SHOWN])
    return f"{len(symbols)}: {shown}" + (" …" if len(symbols) > _SHOWN else "")


def render_universe_changes(
    md: Markdown,
    summary: Mapping[str, Any],
    as_of_winners: Mapping[str, str] | None = None,
) -> None:
    """Append the "Universe across windows" section (module docstring)."""
    mode = universe_mode(summary)
    md.h2("Universe across windows")
    if mode is UniverseMode.AS_OF_WINNERS:
        md.add(LOOK_AHEAD_BANNER)
        return
    if mode is None:
        md.add("The tournament summary does not say how its universe was chosen.")
        return
    rows = universe_changes(summary.get("windows") or [], as_of_winners)
    if not rows:
        md.add("No window was decided.")
        return
    settings = summary.get("settings") or {}
    md.add(
        "Point in time: each window holds the universe that the screens, the raw pool and "
        "natural selection chose from the data up to its training end (re-chosen every "
        f"{settings.get('reselect_every', 1)} windows); nothing chosen at the as-of date "
        "reaches a past window."
    )
    differ = [r["vs_as_of"] for r in rows if r["vs_as_of"] is not None]
    if differ:
        md.add(
            f"Against the as-of winners: {sum(d > 0 for d in differ)} of {len(differ)} windows "
            f"hold a different universe (median {sorted(differ)[len(differ) // 2]} symbols or "
            "directions differ)."
        )
    table = [
        [
            r["index"],
            r["train_end"],
            r["chosen_at"] or "—",
            r["size"],
            _names(r["entries"]),
            _names(r["exits"]),
            _names(r["flips"]),
            "n/a" if r["vs_as_of"] is None else r["vs_as_of"],
        ]
        for r in rows
    ]
    md.table(
        [
            "Window",
            "Train end",
            "Chosen at",
            "Size",
            "Entries",
            "Exits",
            "Direction flips",
            "≠ as-of winners",
        ],
        table,
        "rllrlllr",
    )
