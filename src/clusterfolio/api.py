"""The Python API for notebooks: :func:`load_run`, :func:`run_pipeline` and :class:`Run`.

>>> from clusterfolio import load_run          # doctest: +SKIP
>>> run = load_run("latest")                   # doctest: +SKIP
>>> run.weights().head()                       # the accepted profile, one row per symbol
>>> run.orders()[["symbol", "side", "quantity", "notional"]]

A :class:`Run` reads the artifacts of one run directory (read-only, on demand) and returns pandas
objects: weights per profile, orders, clusters, regime, tournament, health and the decision trail
of a symbol. :func:`run_pipeline` runs the pipeline (the same orchestrator as ``clusterfolio
run``) and returns the :class:`Run` it produced. Heavy modules are imported only when used, so
``import clusterfolio`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.artifacts.audit import DRIFT_JSON, ORDERS_CSV
from clusterfolio.artifacts.health import HEALTH_JSON
from clusterfolio.artifacts.portfolio import PORTFOLIO, profiles_of, section_assets
from clusterfolio.artifacts.risk import CLUSTERS, REGIME, cluster_records
from clusterfolio.artifacts.tournament import TOURNAMENT_SUMMARY
from clusterfolio.errors import DataError

__all__ = ["Run", "load_run", "run_pipeline"]

DEFAULT_MANIFEST = Path("configs/manifest.json")
WEIGHT_COLUMNS = (
    "net",
    "gross",
    "direction",
    "cluster",
    "asset_class",
    "sector",
    "identity",
    "lead",
)


class Run:
    """One run directory, read as pandas objects.

    Parameters
    ----------
    path : Path
        The run directory (``data/runs/<run_id>``).

    Attributes
    ----------
    path : Path
        The run directory.
    run_id : str
        Its id (the folder name).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise DataError(f"{self.path}: not a run directory")
        self.run_id = self.path.name

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, as_of={self.as_of!r}, profile={self.profile!r})"

    @cached_property
    def _arts(self) -> Any:
        from clusterfolio.report.artifacts import RunArtifacts

        return RunArtifacts(self.path)

    @cached_property
    def ledger(self) -> dict[str, Any]:
        """The run's ``run_manifest.json`` (empty when absent)."""
        return dict(self._arts.ledger() or {})

    @property
    def as_of(self) -> str | None:
        """The decision date (ISO)."""
        value = self.ledger.get("as_of") or self._portfolio.get("as_of")
        return str(value) if value else None

    @property
    def profile(self) -> str | None:
        """The manifest profile the run used."""
        value = self.ledger.get("profile")
        return str(value) if value else None

    @property
    def status(self) -> str | None:
        """The run's status in its ledger (``completed``, ``failed`` ...)."""
        value = self.ledger.get("status")
        return str(value) if value else None

    @property
    def accepted_profile(self) -> str:
        """The risk profile implemented by default (``run.accepted_profile``)."""
        settings = self.ledger.get("settings") or {}
        return str((settings.get("run") or {}).get("accepted_profile", "hrp"))

    @cached_property
    def _portfolio(self) -> dict[str, Any]:
        return dict(self._arts.json(PORTFOLIO) or {})

    @property
    def profiles(self) -> list[str]:
        """The risk profiles of the portfolio."""
        return sorted(self._portfolio.get("profiles", {}))

    def weights(self, profile: str | None = None) -> pd.DataFrame:
        """Weights of one risk profile, one row per symbol, biggest gross weight first.

        Parameters
        ----------
        profile : str, optional
            ``hrp``, ``min_variance`` ...; the accepted profile when omitted.

        Returns
        -------
        DataFrame
            Indexed by symbol: ``net`` (signed), ``gross``, ``direction``, ``cluster``,
            ``asset_class``, ``sector``, ``identity``, ``lead``.

        Raises
        ------
        DataError
            An unknown profile (the message lists the profiles of the run).
        """
        name = profile or self.accepted_profile
        profiles = profiles_of(self._portfolio)
        if name not in profiles:
            raise DataError(
                f"profile {name!r} not in run {self.run_id}; profiles: {sorted(profiles)}"
            )
        frame = pd.DataFrame(section_assets(profiles[name]))
        if frame.empty:
            return pd.DataFrame(columns=list(WEIGHT_COLUMNS), index=pd.Index([], name="symbol"))
        for column in WEIGHT_COLUMNS:
            if column not in frame:
                frame[column] = None
        frame = frame.set_index("symbol")[list(WEIGHT_COLUMNS)]
        return frame.sort_values(["gross"], ascending=False, kind="stable")

    def all_weights(self) -> pd.DataFrame:
        """Net weights of every profile side by side (symbols x profiles, 0 where absent)."""
        columns = {p: self.weights(p)["net"].astype(float) for p in self.profiles}
        return pd.DataFrame(columns).fillna(0.0).sort_index()

    def orders(self) -> pd.DataFrame:
        """The orders (``orders.csv``): one row per order; the residual cash row left out.

        Returns
        -------
        DataFrame
            Empty (with no columns) when the run wrote no orders (a failed audit).
        """
        frame = self._arts.csv(ORDERS_CSV)
        if frame is None:
            return pd.DataFrame()
        return frame[frame["symbol"] != "CASH"].reset_index(drop=True)

    def drift(self) -> dict[str, Any]:
        """The drift document (``drift.json``: summary, lines, money totals)."""
        return dict(self._arts.json(DRIFT_JSON) or {})

    def clusters(self) -> pd.DataFrame:
        """The risk buckets (``clusters.json``): one row per cluster."""
        doc = self._arts.json(CLUSTERS) or {}
        rows = cluster_records(doc)
        frame = pd.DataFrame(rows)
        if "id" in frame:
            frame = frame.set_index("id")
        return frame

    def regime(self) -> pd.Series:
        """The regime (``regime.json``): label, score and the features, as one Series."""
        doc = dict(self._arts.json(REGIME) or {})
        flat: dict[str, Any] = {}
        for key, value in doc.items():
            if isinstance(value, Mapping):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        return pd.Series(flat, name="regime", dtype=object)

    def tournament(self) -> pd.DataFrame:
        """The tournament: one row per engine x profile x simulator, its metrics as columns.

        Ranked by Sharpe ratio (best first) where it exists.
        """
        doc = self._arts.json(TOURNAMENT_SUMMARY) or {}
        rows = []
        for row in doc.get("rows", []):
            flat = {k: v for k, v in row.items() if not isinstance(v, Mapping)}
            flat.update(row.get("metrics") or {})
            rows.append(flat)
        frame = pd.DataFrame(rows)
        if "sharpe" in frame:
            frame = frame.sort_values("sharpe", ascending=False, kind="stable", na_position="last")
        return frame.reset_index(drop=True)

    def health(self) -> pd.DataFrame:
        """Per-listing health (``data_health.json``), indexed by symbol."""
        doc = self._arts.json(HEALTH_JSON) or {}
        frame = pd.DataFrame(doc.get("listings", []))
        if "findings" in frame:
            frame["findings"] = frame["findings"].map(len)
        return frame.set_index("symbol") if "symbol" in frame else frame

    def decisions(self, symbol: str | None = None) -> pd.DataFrame:
        """The decision log, or the decisions about one symbol or identity.

        Parameters
        ----------
        symbol : str, optional
            ``NASDAQ:AAPL``, a ticker or an identity; matched against the subject of each
            decision (exactly, or as the ticker after ``:``).
        """
        frame = pd.DataFrame(self._arts.decisions())
        if symbol is None or frame.empty or "subject" not in frame:
            return frame
        wanted = symbol.strip().upper()
        subjects = frame["subject"].astype(str).str.upper()
        hit = (subjects == wanted) | (subjects.str.rpartition(":")[2] == wanted)
        return frame[hit].reset_index(drop=True)

    def headline(self) -> dict[str, Any]:
        """The run's headline (regime, accepted profile, top positions, trades, warnings)."""
        from clusterfolio.report.headline import headline

        return headline(self.path).to_json_dict()


def _runs_dir(root: Path, manifest: Path, profile: str | None) -> Path:
    """The runs folder the manifest names (the default ``data/runs`` without a manifest)."""
    from clusterfolio.manifest import Settings, load

    path = manifest if manifest.is_absolute() else root / manifest
    settings = load(path, profile, []).settings if path.exists() else Settings()
    return (root / settings.run.runs_dir).resolve()


def load_run(
    run: str | Path = "latest",
    *,
    root: str | Path = ".",
    manifest: str | Path = DEFAULT_MANIFEST,
) -> Run:
    """Open a run: ``"latest"``, a run id, or the path of a run directory.

    Parameters
    ----------
    run : str or Path, default "latest"
        Which run.
    root : str or Path, default "."
        The project root (where ``configs/`` and ``data/`` are).
    manifest : str or Path
        The manifest locating the runs folder.

    Returns
    -------
    Run

    Raises
    ------
    PipelineError
        No such run (the message lists the runs).
    """
    from clusterfolio.pipeline.runner import resolve_run_dir

    candidate = Path(run)
    if candidate.is_dir():
        return Run(candidate)
    base = Path(root).resolve()
    return Run(resolve_run_dir(_runs_dir(base, Path(manifest), None), str(run)))


def run_pipeline(
    profile: str | None = None,
    as_of: str | date | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: str | Path = ".",
    manifest: str | Path = DEFAULT_MANIFEST,
    resume: str | None = None,
    fresh: bool = False,
) -> Run:
    """Run the pipeline (``clusterfolio run``) and return the run it produced.

    Parameters
    ----------
    profile : str, optional
        The manifest profile (``development`` is small and fast); the manifest's default when
        omitted.
    as_of : str or date, optional
        The decision date; today when omitted.
    overrides : mapping, optional
        Settings by dotted key, e.g. ``{"selection.top_n": 4, "portfolio.capital": 250000}``.
    root : str or Path, default "."
        The project root.
    manifest : str or Path
        The manifest file.
    resume : str, optional
        A run id (or ``latest``) to resume.
    fresh : bool, default False
        Recompute every step (``clusterfolio run --fresh``); otherwise a second run of the same
        day reuses each step whose inputs and stored bars are unchanged.

    Returns
    -------
    Run
    """
    from clusterfolio.manifest import load
    from clusterfolio.pipeline.context import RunProviders
    from clusterfolio.pipeline.runner import Orchestrator, StepProgress
    from clusterfolio.pipeline.steps import build_registry

    base = Path(root).resolve()
    path = Path(manifest) if Path(manifest).is_absolute() else base / manifest
    sets = [f"{key}={_text(value)}" for key, value in (overrides or {}).items()]
    resolved = load(path, profile, sets)
    day = as_of if isinstance(as_of, date) else date.fromisoformat(as_of) if as_of else date.today()
    orchestrator = Orchestrator(
        build_registry(),
        resolved,
        project_root=base,
        as_of=day,
        provider_factory=RunProviders(),
        progress=StepProgress(),
        command=["clusterfolio.api.run_pipeline", f"profile={profile}", *sets],
        config_root=path.parent.parent if path.parent.name == "configs" else path.parent,
    )
    ledger = orchestrator.run(resume=resume, fresh=fresh)
    return Run(orchestrator.runs_dir / ledger.run_id)


def _text(value: Any) -> str:
    """An override value as ``--set`` writes it (booleans lower case, lists as JSON)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
