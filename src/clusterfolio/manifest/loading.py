"""Loading the manifest: the file, profile inheritance, environment and ``--set`` overrides.

See :mod:`clusterfolio.manifest` for the precedence of the layers.
"""

from __future__ import annotations

import copy
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from clusterfolio.errors import ConfigError
from clusterfolio.manifest.settings import (
    ManifestFile,
    ProfileSpec,
    ResolvedManifest,
    Settings,
)

ENV_PREFIX = "CLUSTERFOLIO__"


def manifest_json_schema() -> dict[str, Any]:
    """Return the JSON schema of the manifest file (with the settings model for reference)."""
    schema = ManifestFile.model_json_schema(by_alias=True)
    schema["$defs"] = schema.get("$defs", {})
    schema["$defs"]["Settings"] = Settings.model_json_schema()
    schema["title"] = "clusterfolio manifest"
    return schema


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (mappings merge, others replace)."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    parts = dotted.split(".")
    node: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        node = {part: node}
    return node


def _field_choices(annotation: Any) -> list[str] | None:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return [str(a) for a in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(m.value) for m in annotation]
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _field_choices(arg)
            if found:
                return found
    return None


def _check_path(dotted: str, model: type[BaseModel] = Settings) -> None:
    """Raise ConfigError when ``dotted`` names no setting."""
    parts = dotted.split(".")
    current: type[BaseModel] | None = model
    for i, part in enumerate(parts):
        if current is None:
            # a free-form mapping (dict field): any sub-key is accepted, values are validated
            return
        fields = current.model_fields
        if part not in fields:
            where = ".".join(parts[:i]) or "<top level>"
            raise ConfigError(
                f"unknown setting {dotted!r}: {part!r} is not a key of {where}; "
                f"allowed: {sorted(fields)}"
            )
        annotation = fields[part].annotation
        nxt = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        if nxt is None and i < len(parts) - 1 and typing.get_origin(annotation) is not dict:
            raise ConfigError(f"unknown setting {dotted!r}: {part!r} has no sub-keys")
        current = nxt


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``section.key=value``; the value is JSON when it parses, else a plain string."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    _check_path(key)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def env_overrides(environ: Mapping[str, str] | None = None) -> list[str]:
    """Collect ``CLUSTERFOLIO__SECTION__KEY=value`` variables as ``section.key=value`` strings."""
    env = os.environ if environ is None else environ
    out = []
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            dotted = name[len(ENV_PREFIX) :].lower().replace("__", ".")
            out.append(f"{dotted}={env[name]}")
    return out


def _validation_message(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        choices = None
        try:
            node: Any = Settings
            for part in err["loc"]:
                if (
                    isinstance(node, type)
                    and issubclass(node, BaseModel)
                    and part in node.model_fields
                ):
                    node = node.model_fields[str(part)].annotation
            choices = _field_choices(node)
        except (KeyError, TypeError, AttributeError):  # pragma: no cover - best effort
            choices = None
        if err["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in err["loc"][:-1])
            msg = f"unknown key (not allowed in {parent or 'the top level'})"
        elif choices:
            msg = f"{msg}; allowed values: {choices}"
        lines.append(f"  {loc}: {msg} (got {err.get('input')!r})")
    return "\n".join(lines)


def load_manifest_file(path: Path) -> ManifestFile:
    """Read and validate ``configs/manifest.json``."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"manifest not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    try:
        return ManifestFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, str(path))) from exc


def _profile_chain(manifest: ManifestFile, name: str) -> list[ProfileSpec]:
    chain: list[ProfileSpec] = []
    seen: set[str] = set()
    current: str | None = name
    while current is not None:
        if current not in manifest.profiles:
            raise ConfigError(f"unknown profile {current!r}; allowed: {sorted(manifest.profiles)}")
        if current in seen:
            raise ConfigError(f"profile inheritance cycle through {current!r}")
        seen.add(current)
        spec = manifest.profiles[current]
        chain.append(spec)
        current = spec.extends
    return list(reversed(chain))


def resolve(
    manifest: ManifestFile,
    profile: str | None = None,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> ResolvedManifest:
    """Resolve a profile with environment and command-line overrides.

    Parameters
    ----------
    manifest : ManifestFile
        The validated manifest file.
    profile : str, optional
        Profile name; ``manifest.default_profile`` when omitted.
    overrides : sequence of str
        ``section.key=value`` from the command line (highest precedence).
    environ : mapping, optional
        Environment (``os.environ`` when omitted).

    Returns
    -------
    ResolvedManifest
    """
    name = profile or manifest.default_profile
    merged: dict[str, Any] = deep_merge({}, manifest.defaults)
    for spec in _profile_chain(manifest, name):
        for key, value in spec.overrides.items():
            _check_path(key)
            merged = deep_merge(merged, _nest(key, value))
    applied = [*env_overrides(environ), *overrides]
    for text in applied:
        key, value = parse_override(text)
        merged = deep_merge(merged, _nest(key, value))
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, f"profile {name!r}")) from exc
    return ResolvedManifest(profile=name, settings=settings, overrides=list(applied))


def load(
    path: Path,
    profile: str | None = None,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> ResolvedManifest:
    """Read ``path`` and resolve ``profile`` (see :func:`resolve`)."""
    return resolve(load_manifest_file(path), profile, overrides, environ)
