"""Per-listing data health audit: coverage, staleness and value anomalies, with evidence.

:func:`audit_listing` compares a listing's stored candles with the sessions its calendar says should
exist over the audited window and returns a :class:`ListingHealth`: a status
(:class:`~clusterfolio.enums.HealthStatus`) and the :class:`Finding` objects that justify it.
:class:`HealthReport` gathers many listings for the run artifacts (deterministic JSON, a Markdown
summary for the portfolio manager) and :func:`strict_gate` turns it into a pass/fail decision.

Statuses and their order
------------------------
A listing may carry several findings; its status is the most severe status among them, in the order
(most severe first)

``MISSING > ANOMALOUS > STALE > GAPPED > OK``

- ``MISSING`` first: with no data (or fewer sessions than the floor) nothing can be computed at all.
- ``ANOMALOUS`` next: the data is present but wrong (a spike, an unadjusted split, a duplicated or
  off-calendar bar, an impossible OHLC bar). Wrong values silently poison volatilities,
  correlations, clusters and weights, which is worse than a visible hole; they also need a human or
  a re-download to fix, whereas the two below are cured by fetching.
- ``STALE``: the values are right but the latest sessions are absent, so the listing is misaligned
  exactly at the decision date (its last returns are missing from the matrix).
- ``GAPPED``: interior sessions are missing; returns across a gap are multi-session but still sum
  to the truth, and the gap is repairable by refetching.
- ``OK``: nothing found, or only informational findings (``SHORT_HISTORY``: the listing's history
  starts inside the window, e.g. a recent listing; those sessions are not gaps).

Conventions of the audit
------------------------
- The audited *window* is the last ``required_sessions`` sessions of ``expected`` (all of them when
  ``expected`` is shorter). Bars outside the window are ignored, except that the first stored bar
  (even an older one) marks where the stored history starts.
- A session is *present* when at least one stored bar carries it, whatever its values (bad values
  are anomalies, not gaps). Missing window sessions are split into *leading* (before the first
  stored bar: short history), *interior* (gaps) and *trailing* (after the last stored bar of the
  window: staleness) by :func:`partition_missing`; :mod:`clusterfolio.data.health.repair` uses the same
  split.
- ``MISSING`` when fewer than ``min(min_days_floor, len(window))`` window sessions are present.
- ``STALE`` when more than ``stale_tolerance_sessions`` window sessions follow the last stored bar.
- Jumps are measured on close-to-close log returns of the in-calendar bars with a valid close (the
  last row of a duplicated session). The robust z-score is ``(r - median) / scale`` with
  ``scale = 1.4826 * MAD``, the median absolute deviation taken both over the whole window and over
  the :data:`LOCAL_WINDOW` returns centred on the bar; the larger of the two is used (floored at
  :data:`MIN_RETURN_SCALE` so that a flat series does not make every tick an outlier). The local
  scale keeps genuine crash-and-rebound days inside a volatile stretch (March 2020 on US ETFs)
  from reading as data spikes, while a bad print in a calm stretch stands out on both scales.
- *Spike*: ``|z| > spike_zscore`` and the next return has the opposite sign and undoes between
  ``1 - revert_tolerance`` and ``1 + revert_tolerance`` of it (``|r_t + r_{t+1}| <= tol |r_t|``).
  A one-way jump (no reversion) is never a spike.
- *Suspected split*: ``|z| > spike_zscore``, the price ratio ``close_t / close_{t-1}`` within
  ``split_tolerance`` (relative) of a split factor (2..10 or its inverse), no reversion, and both
  neighbouring returns ordinary (``|z| <= spike_zscore``): a single clean step to a new level.
- *Suspected corporate action*: a one-session move ``|close_t / close_{t-1} - 1|`` beyond the
  listing class's threshold (``data.corporate_action_move``: 40% for equities and funds, 75%
  for crypto by default) that is neither a spike nor a suspected split and does not revert
  within :data:`REVERT_SESSIONS` sessions (the close never comes back within half the move,
  and the move does not bring it back to a level of the sessions just before):
  an unadjusted spin-off, special dividend or merger. The listing stays ``OK`` and is listed
  with the date and the size; ``strict_health`` excludes it from the implementation universe.
"""

from __future__ import annotations

from clusterfolio.data.health.audit import Auditor, audit_listing, auditor_from_settings
from clusterfolio.data.health.findings import (
    DEFAULT_SPLIT_FACTORS,
    LOCAL_WINDOW,
    MIN_RETURN_SCALE,
    SEVERITY_ORDER,
    Finding,
    FindingKind,
    ListingHealth,
    SessionRun,
    most_severe,
    severity,
)
from clusterfolio.data.health.report import HealthReport, corporate_action_suspects, strict_gate
from clusterfolio.data.health.sessions import MissingSessions, partition_missing

__all__ = [
    "DEFAULT_SPLIT_FACTORS",
    "LOCAL_WINDOW",
    "MIN_RETURN_SCALE",
    "SEVERITY_ORDER",
    "Auditor",
    "Finding",
    "FindingKind",
    "HealthReport",
    "ListingHealth",
    "MissingSessions",
    "SessionRun",
    "audit_listing",
    "auditor_from_settings",
    "corporate_action_suspects",
    "most_severe",
    "partition_missing",
    "severity",
    "strict_gate",
]
