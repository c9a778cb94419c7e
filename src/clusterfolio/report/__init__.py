"""Reports for people: Markdown reports, tear sheets, pictures, the dashboard and publishing.

Public entry points (light to import; matplotlib, QuantStats and Textual are imported only by the
functions that need them):

- :func:`build_reports` renders every report of a run directory (:mod:`.build`);
- :func:`sync_summaries` replaces ``summaries/`` atomically (:mod:`.summaries`);
- :class:`ReportConfig` carries the run settings the reports need (:mod:`.config`);
- :class:`RunArtifacts` reads a run's artifacts, remembering the absent ones (:mod:`.artifacts`);
- :func:`clusterfolio.report.publish.publish` syncs the golden artifacts to the Gist;
- :class:`clusterfolio.report.dashboard.PortfolioDashboard` is the terminal dashboard.
"""

from __future__ import annotations

from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.build import (
    ALWAYS_WRITTEN,
    GOLDEN,
    ReportBuild,
    build_reports,
    golden_paths,
)
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.summaries import sync_summaries

__all__ = [
    "ALWAYS_WRITTEN",
    "GOLDEN",
    "ReportBuild",
    "ReportConfig",
    "RunArtifacts",
    "build_reports",
    "golden_paths",
    "sync_summaries",
]
