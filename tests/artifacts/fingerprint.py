"""Fingerprints of a run's files: one sha256 per artifact, run-specific values normalised.

A fingerprint maps every file of the run directory (and of the run's lakehouse) to the sha256 of
its bytes, after the values that legitimately change from one run to the next are replaced by
placeholders:

- the project root (absolute paths: scan files record the screen's source file): ``<ROOT>``;
- the run id and the config hash (the run id ends in the config hash, which changes whenever a
  setting is added, even with a default that changes nothing): ``<RUN_ID>``, ``<CONFIG_HASH>``;
- in ``run_manifest.json`` only: ``started_at``, ``finished_at``, ``duration_s`` and the step
  counts named ``seconds_*`` (the tournament's timings) are dropped,
  ``code_version`` becomes ``<CODE_VERSION>``, and the ledger's hash values (``input_hash``, the
  values of ``inputs`` and ``outputs``) become ``<SHA256>`` (their keys, what a step declares
  and writes, stay: the artifacts themselves are fingerprinted file by file).

``run.log`` is left out (timestamps and timings on every line). Nothing else is normalised: a
timestamp that shows up in an artifact fails the test, on purpose.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

#: Files not fingerprinted (every line carries a timestamp or a duration).
SKIPPED = frozenset({"run.log"})
#: Ledger keys dropped from ``run_manifest.json``.
VOLATILE_KEYS = frozenset({"started_at", "finished_at", "duration_s"})
#: Ledger keys whose values (hashes) are replaced in ``run_manifest.json``.
HASH_MAPS = frozenset({"inputs", "outputs"})
TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".md", ".html", ".csv", ".txt"})


def _placeholders(root: Path, run_id: str, config_hash: str) -> list[tuple[str, str]]:
    roots = sorted({str(root), str(root.resolve())}, key=len, reverse=True)
    pairs = [(r, "<ROOT>") for r in roots]
    pairs.append((run_id, "<RUN_ID>"))
    if config_hash:
        pairs.append((config_hash, "<CONFIG_HASH>"))
    return pairs


def _normalise_ledger(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in VOLATILE_KEYS or key.startswith("seconds_"):
                continue
            if key == "input_hash":
                out[key] = "<SHA256>"
            elif key in HASH_MAPS and isinstance(value, dict):
                out[key] = dict.fromkeys(value, "<SHA256>")
            else:
                out[key] = _normalise_ledger(value)
        return out
    if isinstance(node, list):
        return [_normalise_ledger(v) for v in node]
    return node


def _manifest_bytes(data: bytes) -> bytes:
    doc = json.loads(data)
    doc["code_version"] = "<CODE_VERSION>"
    doc = _normalise_ledger(doc)
    return json.dumps(doc, indent=2, sort_keys=True).encode()


def normalise(name: str, data: bytes, pairs: list[tuple[str, str]]) -> bytes:
    """Return the bytes of file ``name`` with the run-specific values replaced."""
    if Path(name).suffix not in TEXT_SUFFIXES:
        return data
    text = data.decode("utf-8")
    for old, new in pairs:
        text = text.replace(old, new)
    out = text.encode("utf-8")
    if name == "run_manifest.json":
        out = _manifest_bytes(out)
    return out


def fingerprint(root: Path, run_dir: Path) -> dict[str, str]:
    """Sha256 per file of ``run_dir`` (``run/<path>``) and of ``root/data/lakehouse`` (``lake/``)."""
    manifest = json.loads((run_dir / "run_manifest.json").read_text())
    pairs = _placeholders(root, run_dir.name, str(manifest.get("config_hash", "")))
    out: dict[str, str] = {}
    lake = root / "data" / "lakehouse"
    for prefix, base in (("run", run_dir), ("lake", lake)):
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base).as_posix()
            if not path.is_file() or path.name in SKIPPED:
                continue
            for old, new in pairs:
                rel = rel.replace(old, new)
            data = normalise(path.name, path.read_bytes(), pairs)
            out[f"{prefix}/{rel}"] = hashlib.sha256(data).hexdigest()
    return out


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Lines naming the files missing, extra or changed (empty when equal)."""
    lines = [f"missing: {k}" for k in sorted(set(expected) - set(actual))]
    lines += [f"new: {k}" for k in sorted(set(actual) - set(expected))]
    lines += [
        f"changed: {k}" for k in sorted(set(expected) & set(actual)) if expected[k] != actual[k]
    ]
    return lines
