"""``python -m scripts.run_production_pipeline --profile production``: a shim over the CLI."""

from __future__ import annotations

import sys

from clusterfolio.cli import app


def main(argv: list[str] | None = None) -> None:
    """Forward to ``clusterfolio run`` with the given arguments."""
    app(["run", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
