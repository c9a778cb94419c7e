"""The code version a run records: the package version and the source commit.

A same-day rerun reuses a step only when the code that made it is the code running now, so
work done with uncommitted edits carries a hash of the sources.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from clusterfolio._version import __version__
from clusterfolio.io import sha256_file, sha256_text

__all__ = ["code_version"]


def _git(folder: Path, *args: str) -> str:
    """Output of ``git -C folder args`` (``""`` without git or outside a checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def code_version() -> str:
    """Package version plus the git commit of the source checkout when there is one.

    When the package's files differ from that commit, a hash of its sources is appended
    (``+<commit>.dirty-<sha>``): a same-day rerun reuses no step that other code made.
    """
    package = Path(__file__).resolve().parents[1]
    commit = _git(package, "rev-parse", "--short=12", "HEAD")
    if not commit:
        return __version__
    if _git(package, "status", "--porcelain", "--untracked-files=all", "--", "."):
        files = sorted(package.rglob("*.py"))
        digest = sha256_text("\n".join(f"{f.relative_to(package)}:{sha256_file(f)}" for f in files))
        return f"{__version__}+{commit}.dirty-{digest[:12]}"
    return f"{__version__}+{commit}"
