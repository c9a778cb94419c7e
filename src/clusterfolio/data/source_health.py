"""What the data source dropped, repaired or guessed, for the health audit's report.

The ``files`` provider reports its problems per file and row
(:class:`~clusterfolio.data.formats.FileIssue`); :func:`source_report` gathers those of the
audited listings, groups them by listing and by what was done, and :func:`source_markdown`
renders the section of ``data_health.md``. Providers without such a report give ``None``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from clusterfolio.data.formats import FileIssue, IssueKind

__all__ = ["ACTIONS", "source_markdown", "source_report"]

#: What each kind of problem did to the data.
ACTIONS: dict[IssueKind, str] = {
    IssueKind.BAD_ROW: "dropped",
    IssueKind.DUPLICATE_SESSION: "dropped",
    IssueKind.LEADING_ZERO_PRICES: "dropped",
    IssueKind.NONPOSITIVE_PRICE: "dropped",
    IssueKind.OHLC_REPAIRED: "repaired",
    IssueKind.OHLC_FILLED: "repaired",
    IssueKind.BAD_VOLUME: "repaired",
    IssueKind.DATE_MISMATCH: "repaired",
    IssueKind.INFERRED: "guessed",
    IssueKind.MIXED_TIME_UNITS: "guessed",
    IssueKind.METADATA: "guessed",
    IssueKind.GAP: "gap",
}
_SHOWN_PER_LISTING = 3


def _entry(issue: FileIssue) -> dict[str, Any]:
    return {
        "session": issue.session,
        "action": ACTIONS.get(issue.kind, "file"),
        "kind": issue.kind.value,
        "severity": issue.severity.value,
        "detail": issue.detail,
        "file": issue.file,
        "row": issue.row,
    }


def source_report(provider: Any, symbols: list[str]) -> dict[str, Any] | None:
    """The source problems of ``symbols`` (JSON-ready), or None when the provider has none.

    Keys: ``provider``, ``root``, ``total``, ``listings_affected``, ``by_action`` (dropped,
    repaired, guessed, gap, file), ``by_kind``, ``by_listing`` (symbol -> problems in session
    order, each with session, action, kind, severity, detail, file, row) and ``files`` (files
    that serve no listing, with their problem).
    """
    if not hasattr(provider, "problems_by_listing"):
        return None
    per_listing: dict[str, list[FileIssue]] = provider.problems_by_listing(list(symbols))
    by_listing = {
        s: sorted((_entry(i) for i in issues), key=lambda e: (e["session"] or "", e["kind"]))
        for s, issues in sorted(per_listing.items())
        if issues
    }
    everything = [e for entries in by_listing.values() for e in entries]
    files = [_entry(i) for i in provider.file_problems()]
    return {
        "provider": str(getattr(provider, "name", "")),
        "root": str(getattr(provider, "root", "")),
        "total": len(everything),
        "listings_affected": len(by_listing),
        "by_action": dict(sorted(Counter(e["action"] for e in everything + files).items())),
        "by_kind": dict(sorted(Counter(e["kind"] for e in everything + files).items())),
        "by_listing": by_listing,
        "files": files,
    }


def source_markdown(report: dict[str, Any] | None) -> str:
    """The ``Source data`` section of ``data_health.md`` ("" when there is no report)."""
    if report is None:
        return ""
    lines = ["", f"## Source data ({report['provider']} provider: {report['root']})", ""]
    if not report["by_action"]:
        lines.append(
            "Nothing was dropped, repaired or guessed while reading the files of the audited "
            "listings, and every file found was used."
        )
        return "\n".join(lines) + "\n"
    lines += [
        f"{report['total']} problems in {report['listings_affected']} audited listings were "
        "handled while reading the files (every one, per listing and session, in "
        "`data_health.json` under `source`):",
        "",
        "| What was done | Count |",
        "| --- | ---: |",
    ]
    lines += [f"| {action} | {n} |" for action, n in report["by_action"].items()]
    if report["by_listing"]:
        lines += ["", "| Listing | Dropped | Repaired | Guessed | Gaps | Examples |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
        for symbol, entries in report["by_listing"].items():
            count = Counter(e["action"] for e in entries)
            shown = [e for e in entries if e["action"] != "gap"][:_SHOWN_PER_LISTING]
            text = "; ".join(
                f"{e['session'] or 'file'}: {e['detail']}".replace("|", "/") for e in shown
            )
            lines.append(
                f"| {symbol} | {count['dropped']} | {count['repaired']} | {count['guessed']} | "
                f"{count['gap']} | {text} |"
            )
    if report["files"]:
        lines += ["", "Files not used:", ""]
        lines += [f"- `{e['file']}`: {e['kind']}: {e['detail']}" for e in report["files"]]
    return "\n".join(lines) + "\n"
