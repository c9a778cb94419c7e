"""Heavy libraries are imported lazily (the CLI imports this package at start-up)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, clusterfolio.optimize, clusterfolio.optimize.peers\n"
        "heavy = {'cvxpy', 'skfolio', 'riskfolio', 'pypfopt', 'cvxportfolio'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
