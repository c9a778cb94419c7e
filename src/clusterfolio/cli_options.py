"""The options the commands share, declared once, and the project a command works in.

Every command that reads the manifest takes ``--manifest`` and ``--root``: the option group
:class:`Project`, which :func:`grouped_options` expands into both options and hands over as one
object. The other shared options
(``--profile``, ``--set``, ``--run``, ``--as-of``, ``--quiet``, ``--json``) are the
``Annotated`` aliases below, used by every command that takes them. :func:`fail` is the one way
a command reports an error and exits with its documented code (:mod:`clusterfolio.exitcodes`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, get_type_hints

import typer

if TYPE_CHECKING:
    from clusterfolio.manifest import ResolvedManifest, Settings

__all__ = [
    "DEFAULT_MANIFEST",
    "AsOfOpt",
    "JsonOpt",
    "ManifestOpt",
    "ProfileOpt",
    "Project",
    "QuietOpt",
    "RootOpt",
    "RunIdOpt",
    "SetOpt",
    "exit_for",
    "fail",
    "grouped_options",
]

DEFAULT_MANIFEST = Path("configs/manifest.json")

ManifestOpt = Annotated[Path, typer.Option("--manifest", help="Manifest file.", show_default=True)]
RootOpt = Annotated[Path, typer.Option("--root", help="Project root (data/, configs/ live here).")]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="Profile (default: the manifest's).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a setting: section.key=value (repeatable)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Decision date YYYY-MM-DD (default: today; files provider: the baseline's last "
        "session).",
    ),
]
RunIdOpt = Annotated[str, typer.Option("--run", help="Run id (or 'latest').")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


@dataclass(frozen=True)
class Project:
    """Where a command works: the project root and the manifest file (``--root``, ``--manifest``).

    An option group (see :func:`grouped_options`): a command that takes ``project: Project``
    gets both options.

    Parameters
    ----------
    manifest : pathlib.Path
        The manifest file, relative to ``root`` unless absolute.
    root : pathlib.Path
        The project root (``data/`` and ``configs/`` live here).
    """

    manifest: ManifestOpt = DEFAULT_MANIFEST
    root: RootOpt = Path(".")

    @property
    def base(self) -> Path:
        """The resolved project root (every data folder is taken relative to it)."""
        return self.root.resolve()

    @property
    def manifest_path(self) -> Path:
        """The manifest file (``manifest`` under ``root`` unless absolute)."""
        return self.manifest if self.manifest.is_absolute() else self.root / self.manifest

    def resolve(
        self, profile: str | None = None, sets: list[str] | None = None
    ) -> ResolvedManifest:
        """Read the manifest and resolve ``profile`` with the ``--set`` overrides ``sets``."""
        from clusterfolio.manifest import load

        return load(self.manifest_path, profile, sets or [])

    def settings(self, profile: str | None = None, sets: list[str] | None = None) -> Settings:
        """The resolved settings of ``profile`` with the overrides ``sets``."""
        return self.resolve(profile, sets).settings


F = TypeVar("F", bound=Callable[..., None])


def _is_group(annotation: Any) -> bool:
    return dataclasses.is_dataclass(annotation) and isinstance(annotation, type)


def _group_parameters(group: type) -> list[inspect.Parameter]:
    """The options of an option group: a keyword-only parameter per field, in field order (a
    field that is itself a group stands for its options)."""
    hints = get_type_hints(group, include_extras=True)
    out: list[inspect.Parameter] = []
    for f in dataclasses.fields(group):
        if _is_group(hints[f.name]):
            out += _group_parameters(hints[f.name])
        else:  # a field without a default is a required option
            kind = inspect.Parameter.KEYWORD_ONLY
            default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
            out.append(inspect.Parameter(f.name, kind, default=default, annotation=hints[f.name]))
    return out


def _build(group: type, options: dict[str, Any]) -> Any:
    """The group of ``options`` (its options popped from them, nested groups built first)."""
    hints = get_type_hints(group, include_extras=True)
    values = {
        f.name: _build(hints[f.name], options) if _is_group(hints[f.name]) else options.pop(f.name)
        for f in dataclasses.fields(group)
    }
    return group(**values)


def grouped_options(func: F) -> F:
    """Expand a command's option groups into their options, and rebuild the groups for it.

    An option group is a dataclass whose fields are annotated with the option aliases (e.g.
    :class:`Project`) or are option groups themselves: a parameter typed with one stands for
    all its options, which Typer shows after the command's own, so options several commands
    share are declared once.

    Parameters
    ----------
    func : callable
        A command; its parameters annotated with a dataclass are option groups.

    Returns
    -------
    callable
        The command Typer registers: ``func``'s own options, then those of its groups.

    Raises
    ------
    TypeError
        When two options of the command have the same name.
    """
    signature = inspect.signature(func, eval_str=True)
    groups = {
        name: p.annotation for name, p in signature.parameters.items() if _is_group(p.annotation)
    }
    own = [p for name, p in signature.parameters.items() if name not in groups]
    added = [p for group in groups.values() for p in _group_parameters(group)]
    params = [
        *[p for p in own if p.kind is not inspect.Parameter.KEYWORD_ONLY],
        *[p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY],
        *added,
    ]
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise TypeError(f"{func.__name__}: an option is declared twice in {names}")

    @functools.wraps(func)
    def command(**kwargs: Any) -> None:
        for name, group in groups.items():
            kwargs[name] = _build(group, kwargs)
        func(**kwargs)

    command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    return command  # type: ignore[return-value]


def exit_for(exc: Exception) -> typer.Exit:
    """Print ``error: <exc>`` on stderr and return the exit carrying its documented code."""
    from clusterfolio.exitcodes import exit_code_for

    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=int(exit_code_for(exc)))


def fail(exc: Exception) -> NoReturn:
    """Report ``exc`` (see :func:`exit_for`) and exit with its documented code."""
    raise exit_for(exc)
