"""The shared command options: option groups expand into options and come back as one object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from clusterfolio.cli_options import DEFAULT_MANIFEST, Project, QuietOpt, RunIdOpt, grouped_options


def _app(command: Callable[..., None]) -> typer.Typer:
    """An app holding ``command`` (and a second command, so its name is on the command line)."""
    app = typer.Typer()
    app.command()(command)
    app.command("other")(lambda: None)
    return app


def test_a_group_becomes_its_options_after_the_commands_own() -> None:
    seen: list[tuple[bool, Project]] = []

    @grouped_options
    def command(quiet: QuietOpt = False, *, project: Project) -> None:
        seen.append((quiet, project))

    app = _app(command)
    runner = CliRunner()
    result = runner.invoke(app, ["command", "-q", "--root", "/tmp/x", "--manifest", "m.json"])
    assert result.exit_code == 0, result.output
    assert seen == [(True, Project(manifest=Path("m.json"), root=Path("/tmp/x")))]
    assert runner.invoke(app, ["command"]).exit_code == 0
    assert seen[-1] == (False, Project(manifest=DEFAULT_MANIFEST, root=Path(".")))
    assert list(typer.main.get_command(app).commands["command"].params[0].opts) == ["--quiet", "-q"]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _AlsoRoot:
    """A group that declares ``root`` again."""

    root: Path = Path(".")


@dataclass(frozen=True)
class _Target:
    """A group holding another (the project), and an option without a default."""

    name: Annotated[str, typer.Option("--name")]
    run: RunIdOpt = "latest"
    project: Project = field(default_factory=Project)


def test_groups_nest_and_a_field_without_a_default_is_required() -> None:
    seen: list[_Target] = []

    @grouped_options
    def command(*, target: _Target) -> None:
        seen.append(target)

    app = _app(command)
    assert CliRunner().invoke(app, ["command", "--run", "r1"]).exit_code == 2  # --name missing
    result = CliRunner().invoke(app, ["command", "--name", "x", "--run", "r1", "--root", "/tmp/x"])
    assert result.exit_code == 0, result.output
    assert seen == [_Target(name="x", run="r1", project=Project(root=Path("/tmp/x")))]


def test_an_option_declared_twice_is_refused() -> None:
    def command(*, other: _AlsoRoot, project: Project) -> None:
        """Both groups declare --root."""

    with pytest.raises(TypeError, match="declared twice"):
        grouped_options(command)


def test_the_manifest_is_read_under_the_root_unless_absolute(tmp_path: Path) -> None:
    assert Project(root=tmp_path).manifest_path == tmp_path / DEFAULT_MANIFEST
    absolute = tmp_path / "elsewhere.json"
    assert Project(manifest=absolute, root=Path("/nowhere")).manifest_path == absolute
    assert Project(root=tmp_path).base == tmp_path.resolve()
