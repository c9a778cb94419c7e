"""The crash-safety hook: SIGKILL a run at a chosen point, injected into the orchestrator.

``python -m tests.fakes.kill SPEC [run options]`` runs the pipeline like ``clusterfolio run -q``
(synthetic or files provider, same resolved manifest, same run id) with :class:`KillAt` as the
orchestrator's hooks. ``SPEC``:

- ``STEP`` kills the process after the step wrote its artifacts, before the ledger records it;
- ``STEP:N`` kills it at the N-th progress tick inside the step;
- ``@start`` kills it once the run folder is prepared, before its ledger exists.
"""

from __future__ import annotations

import argparse
import os
import signal
from datetime import date
from pathlib import Path

from clusterfolio.manifest import load
from clusterfolio.pipeline.context import default_provider
from clusterfolio.pipeline.runner import Orchestrator, RunHooks, StepProgress
from clusterfolio.pipeline.steps import build_registry


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillAt(RunHooks):
    """Hooks that SIGKILL the process at the point ``spec`` names (see the module docstring).

    Parameters
    ----------
    spec : str
        ``STEP``, ``STEP:N`` or ``@start``.
    """

    def __init__(self, spec: str) -> None:
        self.step, _, n = spec.partition(":")
        self.at_tick = int(n) if n else None
        self.ticks = 0

    def before_ledger(self) -> None:
        """Kill at ``@start``."""
        if self.step == "@start":
            _die()

    def on_tick(self, step: str) -> None:
        """Kill at the N-th tick of ``STEP:N``."""
        if self.step == step and self.at_tick is not None:
            self.ticks += 1
            if self.ticks >= self.at_tick:
                _die()

    def after_run(self, step: str) -> None:
        """Kill after ``STEP`` wrote its artifacts."""
        if self.step == step and self.at_tick is None:
            _die()


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline with :class:`KillAt` hooks; the process normally dies by SIGKILL."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.kill")
    parser.add_argument("spec")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--profile")
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args(argv)
    manifest = args.manifest.resolve()
    orchestrator = Orchestrator(
        build_registry(),
        load(manifest, args.profile, args.sets),
        project_root=args.root.resolve(),
        as_of=date.fromisoformat(args.as_of),
        provider_factory=default_provider,
        progress=StepProgress(),
        command=["tests.fakes.kill", *(argv or [])],
        config_root=manifest.parent.parent
        if manifest.parent.name == "configs"
        else manifest.parent,
        hooks=KillAt(args.spec),
    )
    orchestrator.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
