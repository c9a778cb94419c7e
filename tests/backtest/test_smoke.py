"""The smoke optimisation of ``config check``: every profile solves, a failure is reported."""

from __future__ import annotations

import pytest

from clusterfolio.backtest.smoke import smoke_optimize
from clusterfolio.enums import ProfileName
from clusterfolio.errors import OptimizationError
from clusterfolio.manifest import Settings
from clusterfolio.optimize import profiles


def test_every_default_profile_solves_in_the_smoke_run() -> None:
    settings = Settings.model_validate({"features": {"feat_turnover_penalty": True}})
    outcomes = smoke_optimize(settings)
    assert [o.profile for o in outcomes] == list(settings.risk.profiles)
    assert all(o.ok for o in outcomes), [o.detail for o in outcomes if not o.ok]


def test_a_profile_that_cannot_solve_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    original = profiles.optimize_profile

    def failing(problem: object, profile: ProfileName) -> object:
        if profile is ProfileName.RISK_PARITY:
            raise OptimizationError("risk parity Newton did not converge (relative gap 3e-9)")
        return original(problem, profile)  # type: ignore[arg-type]

    monkeypatch.setattr(profiles, "optimize_profile", failing)
    outcomes = {o.profile: o for o in smoke_optimize(Settings())}
    assert not outcomes[ProfileName.RISK_PARITY].ok
    assert "did not converge" in outcomes[ProfileName.RISK_PARITY].detail
    assert outcomes[ProfileName.HRP].ok
