"""The headline of a run: what a portfolio manager reads first, in the terminal and on top of the
HTML report.

:func:`headline` reads the run directory (ledger, portfolio, drift, audit) and returns a
:class:`Headline`: regime, accepted profile, top 5 positions, the trades (count, churn, money),
the audit verdict, the warnings and fallbacks counted per step, and where the reports are.
Absent artifacts leave their fields empty (a staged command may stop before the reports).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.audit import AUDIT_DOCUMENT
from clusterfolio.artifacts.portfolio import profile_section, section_assets
from clusterfolio.artifacts.reports import REPORT_HTML as HTML_REPORT
from clusterfolio.report.artifacts import (
    AUDIT_JSON,
    DRIFT_JSON,
    PORTFOLIO,
    RunArtifacts,
)
from clusterfolio.report.verdicts import check_status

TOP_N = 5


@dataclass(frozen=True)
class Headline:
    """The first things to read about a run (see the module docstring)."""

    run_id: str
    as_of: str | None
    status: str | None
    regime: str | None
    accepted_profile: str
    top: list[dict[str, Any]]
    n_buy: int | None
    n_sell: int | None
    churn: float | None
    money: dict[str, Any] | None
    audit_passed: bool | None
    warnings: dict[str, int]
    fallbacks: dict[str, int]
    reports: list[str] = field(default_factory=list)
    audit_warnings: list[str] = field(default_factory=list)

    @property
    def n_warnings(self) -> int:
        """Warnings over every step."""
        return sum(self.warnings.values())

    @property
    def n_fallbacks(self) -> int:
        """Fallbacks over every step."""
        return sum(self.fallbacks.values())

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out.update(n_warnings=self.n_warnings, n_fallbacks=self.n_fallbacks)
        return out

    @property
    def audit_text(self) -> str:
        """The audit verdict, with the warnings on the accepted profile when there are any."""
        text = {True: "passed", False: "FAILED: do not implement", None: "not run"}[
            self.audit_passed
        ]
        if self.audit_warnings:
            text += f" (warnings on {self.accepted_profile}: {', '.join(self.audit_warnings)})"
        return text

    def lines(self) -> list[str]:
        """The headline as terminal lines."""
        out = [
            f"run {self.run_id} ({self.status or '?'}) as of {self.as_of or '?'}",
            f"  regime {self.regime or '?'} · accepted profile {self.accepted_profile} · "
            f"audit {self.audit_text}",
        ]
        if self.top:
            tops = ", ".join(
                f"{t['symbol']} {t['net']:+.1%}" + (" SHORT" if t["direction"] == "SHORT" else "")
                for t in self.top
            )
            out.append(f"  top {len(self.top)}: {tops}")
        if self.n_buy is not None:
            trades = f"  trades: {self.n_buy} BUY, {self.n_sell} SELL, churn {self.churn or 0:.1%}"
            if self.money:
                ccy = self.money.get("base_currency", "")
                trades += (
                    f"; buys {self.money['buy_notional']:,.0f} {ccy}, sells "
                    f"{self.money['sell_notional']:,.0f} {ccy}, est. cost "
                    f"{self.money['est_cost']:,.0f} {ccy}, residual cash "
                    f"{self.money['residual_cash']:,.0f} {ccy}"
                )
            out.append(trades)
        noisy = ", ".join(
            f"{k} {v}" for k, v in sorted(self.warnings.items(), key=lambda kv: -kv[1]) if v
        )
        out.append(
            f"  warnings {self.n_warnings}, fallbacks {self.n_fallbacks}"
            + (f" ({noisy})" if noisy else "")
        )
        if self.reports:
            out.append("  reports: " + ", ".join(self.reports))
        return out


def _ledger_counts(ledger: dict[str, Any], key: str) -> dict[str, int]:
    steps = ledger.get("steps") or {}
    return {str(k): len(v.get(key) or []) for k, v in steps.items() if isinstance(v, dict)}


def _top(portfolio: dict[str, Any], profile: str) -> list[dict[str, Any]]:
    assets = section_assets(profile_section(portfolio, profile))
    ranked = sorted(assets, key=lambda a: (-abs(float(a.get("net", 0.0))), str(a["symbol"])))
    return [
        {
            "symbol": str(a["symbol"]),
            "net": float(a.get("net", 0.0)),
            "direction": str(a.get("direction", "LONG")),
            "cluster": a.get("cluster"),
        }
        for a in ranked[:TOP_N]
    ]


def headline(run_dir: Path, summaries_dir: Path | None = None) -> Headline:
    """Read the headline of a run directory.

    Parameters
    ----------
    run_dir : Path
        The run.
    summaries_dir : Path, optional
        Where the latest reports are copied (listed under ``reports`` when it holds them).
    """
    arts = RunArtifacts(run_dir)
    ledger = arts.ledger() or {}
    portfolio = arts.json(PORTFOLIO) or {}
    drift = arts.json(DRIFT_JSON) or {}
    audit = arts.json(AUDIT_JSON)
    settings = ledger.get("settings") or {}
    profile = str(
        (drift.get("meta") or {}).get("profile")
        or (settings.get("run") or {}).get("accepted_profile")
        or "hrp"
    )
    summary = drift.get("summary") or {}
    money = (drift.get("money") or {}).get("totals") if drift else None
    reports = []
    for folder in (run_dir, summaries_dir):
        if folder is not None and (folder / HTML_REPORT).exists():
            reports.append(str(folder / HTML_REPORT))
    if summaries_dir is not None and summaries_dir.is_dir():
        reports.append(f"{summaries_dir}/")
    reports.append(str(run_dir))
    return Headline(
        run_id=str(ledger.get("run_id") or run_dir.name),
        as_of=ledger.get("as_of") or portfolio.get("as_of"),
        status=ledger.get("status"),
        regime=portfolio.get("regime"),
        accepted_profile=profile,
        top=_top(portfolio, profile),
        n_buy=summary.get("n_buy"),
        n_sell=summary.get("n_sell"),
        churn=summary.get("executed_churn", summary.get("churn")),
        money=money,
        audit_passed=None if audit is None else bool(audit.get("passed")),
        warnings=_ledger_counts(ledger, "warnings"),
        fallbacks=_ledger_counts(ledger, "fallbacks"),
        reports=reports,
        audit_warnings=_audit_warnings(audit, profile),
    )


def _audit_warnings(audit: Any, profile: str) -> list[str]:
    """Names of the audit checks that warn about ``profile`` or the whole document."""
    checks = audit.get("checks") if isinstance(audit, dict) else None
    rows = [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []
    names = {
        str(c.get("name"))
        for c in rows
        if check_status(c) == "warn" and c.get("profile") in (profile, AUDIT_DOCUMENT)
    }
    return sorted(names)


def echo_headline(
    run_dir: Path, summaries_dir: Path | None = None, *, details: bool = False
) -> None:
    """Print the headline of a run to the terminal (warnings in yellow, a failed audit in red).

    With ``details`` every warning of the ledger follows, step by step.
    """
    import typer

    from clusterfolio.errors import ClusterfolioError

    try:
        head = headline(run_dir, summaries_dir)
    except ClusterfolioError as exc:  # a corrupt artifact must not hide the run's own result
        typer.secho(f"headline unavailable: {exc}", fg=typer.colors.YELLOW, err=True)
        return
    for line in head.lines():
        color = None
        if "FAILED" in line:
            color = typer.colors.RED
        elif line.lstrip().startswith("warnings") and (head.n_warnings or head.n_fallbacks):
            color = typer.colors.YELLOW
        typer.secho(line, fg=color)
    if details:
        ledger = RunArtifacts(run_dir).ledger() or {}
        for step, record in sorted((ledger.get("steps") or {}).items()):
            for warning in record.get("warnings") or []:
                typer.secho(f"  [{step}] {warning}", fg=typer.colors.YELLOW)
