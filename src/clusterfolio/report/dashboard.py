"""The interactive terminal dashboard (``make display`` → ``clusterfolio display``).

Tabs (keys ``1`` .. ``5``): portfolios by profile (``[`` / ``]`` switch profile), clusters,
drift and orders, data health, tournament. The accepted profile is shown first. Every tab renders
what the run holds and says what is absent. ``q`` quits; without a terminal the content is printed
as text instead. The content comes from :mod:`clusterfolio.report.dashboard_model`; this
module only lays it out with Textual (imported here, so only ``display`` pays for it).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from clusterfolio.report.dashboard_model import DashboardModel, Panel, load_dashboard

__all__ = ["TABS", "PortfolioDashboard", "render_text", "run_dashboard"]

#: Tab ids in key order (key ``1`` is the first).
TABS: tuple[str, ...] = ("portfolios", "clusters", "orders", "health", "tournament")


def _panel_widgets(panel: Panel, prefix: str) -> list[Static | DataTable[str]]:
    widgets: list[Static | DataTable[str]] = []
    for i, line in enumerate(panel.lines):
        widgets.append(Static(line, id=f"{prefix}-line-{i}", classes="line", markup=False))
    for i, table in enumerate(panel.tables):
        widgets.append(Static(table.title, classes="table-title", markup=False))
        grid: DataTable[str] = DataTable(
            id=f"{prefix}-table-{i}", zebra_stripes=True, cursor_type="row"
        )
        grid.add_columns(*table.headers)
        for row in table.rows:
            grid.add_row(*row)
        widgets.append(grid)
    return widgets


class PortfolioDashboard(App[None]):
    """The dashboard over one run.

    Parameters
    ----------
    model : DashboardModel
        What to show (see :func:`~clusterfolio.report.dashboard_model.load_dashboard`).
    """

    TITLE = "clusterfolio"
    CSS = """
    .line { padding: 0 1; }
    .table-title { padding: 1 1 0 1; text-style: bold; }
    DataTable { height: auto; max-height: 40; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_tab('portfolios')", "Portfolios"),
        Binding("2", "show_tab('clusters')", "Clusters"),
        Binding("3", "show_tab('orders')", "Drift & orders"),
        Binding("4", "show_tab('health')", "Health"),
        Binding("5", "show_tab('tournament')", "Tournament"),
        Binding("]", "next_profile", "Next profile"),
        Binding("[", "previous_profile", "Previous profile"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, model: DashboardModel) -> None:
        super().__init__()
        self.model = model

    def compose(self) -> ComposeResult:
        """Lay out the tabs."""
        yield Header()
        with TabbedContent(initial="portfolios", id="tabs"):
            with TabPane("1 Portfolios", id="portfolios"):
                if self.model.profiles:
                    keys = [p.key for p in self.model.profiles]
                    first = self.model.accepted if self.model.accepted in keys else keys[0]
                    with TabbedContent(id="profiles", initial=f"profile-{first}"):
                        for panel in self.model.profiles:
                            with TabPane(panel.title, id=f"profile-{panel.key}"), VerticalScroll():
                                yield from _panel_widgets(panel, f"profile-{panel.key}")
                else:
                    yield Static("no profile in portfolio_optimized.json", markup=False)
            for key, panel in (
                ("clusters", self.model.clusters),
                ("orders", self.model.orders),
                ("health", self.model.health),
                ("tournament", self.model.tournament),
            ):
                with TabPane(f"{TABS.index(key) + 1} {panel.title}", id=key), VerticalScroll():
                    yield from _panel_widgets(panel, key)
        yield Footer()

    def on_mount(self) -> None:
        """Set the titles."""
        self.title = self.model.title
        self.sub_title = self.model.subtitle

    def action_show_tab(self, tab: str) -> None:
        """Activate a tab by id."""
        self.query_one("#tabs", TabbedContent).active = tab

    def _cycle_profile(self, step: int) -> None:
        if not self.model.profiles:
            return
        self.action_show_tab("portfolios")
        profiles = self.query_one("#profiles", TabbedContent)
        ids = [f"profile-{p.key}" for p in self.model.profiles]
        current = ids.index(profiles.active) if profiles.active in ids else 0
        profiles.active = ids[(current + step) % len(ids)]

    def action_next_profile(self) -> None:
        """Show the next profile."""
        self._cycle_profile(1)

    def action_previous_profile(self) -> None:
        """Show the previous profile."""
        self._cycle_profile(-1)


def render_text(model: DashboardModel) -> str:
    """The dashboard as plain text (every tab, the accepted profile first)."""
    out = [model.title, model.subtitle]
    profiles = sorted(model.profiles, key=lambda p: p.key != model.accepted)
    for panel in [*profiles, model.clusters, model.orders, model.health, model.tournament]:
        out += ["", f"== {panel.title}" + (" (accepted)" if panel.key == model.accepted else "")]
        out += panel.lines
        for table in panel.tables:
            out.append(f"-- {table.title}")
            out.append(" | ".join(table.headers))
            out += [" | ".join(row) for row in table.rows]
    return "\n".join(out) + "\n"


def run_dashboard(run_dir: Path, *, interactive: bool | None = None) -> None:
    """Open the dashboard over ``run_dir`` (blocks until the user quits).

    Without a terminal (output piped, a CI job, ``interactive=False``) the dashboard prints its
    content as text and returns instead of waiting for keys.
    """
    import sys

    model = load_dashboard(run_dir)
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        sys.stdout.write(render_text(model))
        return
    PortfolioDashboard(model).run()
