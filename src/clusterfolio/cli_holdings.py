"""``clusterfolio holdings import FILE.csv``: a broker's positions become the accepted state.

The positions are valued at the prices of a run (``--run``, default ``latest``), weights are
derived, unknown symbols are reported with their closest identities, and the result replaces
``portfolio_actual_state.json`` (the previous state kept as a dated backup). ``--dry-run`` shows
the result without writing it. The next ``drift`` (and the next run's orders) start from it.

Exit codes: 0 imported; 1 some symbols were unknown (the known ones are imported unless
``--strict``); 2 bad input (no such file, no symbol or quantity column, a bad number).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clusterfolio.cli_audit import GatedRun, _inputs, _lakehouse
from clusterfolio.cli_options import Project, exit_for, grouped_options
from clusterfolio.errors import ClusterfolioError

holdings_app = typer.Typer(help="Real holdings: import a broker's positions.", no_args_is_help=True)


@holdings_app.command("import")
@grouped_options
def import_command(
    file: Annotated[Path, typer.Argument(help="Broker CSV: symbol, quantity[, price, currency].")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, do not write.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the import when a symbol is unknown.")
    ] = False,
    *,
    target: GatedRun,
    project: Project,
) -> None:
    """Import broker positions as the accepted state (valued at the run's prices)."""
    from clusterfolio.audit.holdings import import_holdings

    try:
        inputs = _inputs(target, project)
        result = import_holdings(
            file,
            run_dir=inputs.run_dir,
            settings=inputs.settings,
            portfolio=inputs.portfolio,
            run_id=inputs.run_id,
        )
    except ClusterfolioError as exc:
        raise exit_for(exc) from exc
    state, val = result.state, result.valuation
    ccy = state["base_currency"]
    typer.echo(
        f"{len(state['quantities'])} positions valued at the prices of run {inputs.run_id}: "
        f"{val.capital:,.2f} {ccy} (cash {val.cash:,.2f})"
    )
    for symbol, weight in sorted(val.weights.items(), key=lambda kv: -abs(kv[1])):
        value = val.values[symbol]
        shown = "no price" if value is None else f"{value:,.2f} {ccy}"
        typer.echo(
            f"  {symbol:<24} {state['quantities'][symbol]:>14,.4f}  {shown:>20}  {weight:8.2%}"
        )
    for unknown in result.unknown:
        typer.secho(
            f"unknown symbol {unknown.symbol!r} (row {unknown.row}, {unknown.reason}); closest: "
            + (", ".join(unknown.closest) or "none"),
            fg=typer.colors.YELLOW,
            err=True,
        )
    if result.unknown and strict:
        typer.secho("import refused (--strict): unknown symbols", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    if not dry_run:
        from clusterfolio.audit.state import save_state
        from clusterfolio.pipeline.lock import ProjectLock

        try:
            with ProjectLock(project.base, "holdings import", inputs.run_id):
                path = save_state(_lakehouse(inputs, project), state)
        except ClusterfolioError as exc:
            raise exit_for(exc) from exc
        typer.echo(f"accepted state: {path}")
    if result.unknown:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Attach ``holdings`` to the CLI app."""
    app.add_typer(holdings_app, name="holdings")
