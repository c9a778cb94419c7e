"""The provider factory takes the data settings it needs, never a run context."""

from __future__ import annotations

import inspect
from datetime import date
from pathlib import Path

from clusterfolio.data.files import FilesProvider
from clusterfolio.data.provider import Provider
from clusterfolio.data.provider_factory import make_provider
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.enums import ProviderName
from clusterfolio.manifest import Settings


def test_the_default_settings_give_the_synthetic_provider(tmp_path: Path) -> None:
    provider = make_provider(Settings().data, as_of=date(2026, 11, 20), project_root=tmp_path)
    assert isinstance(provider, SyntheticProvider) and isinstance(provider, Provider)


def test_the_files_provider_resolves_against_the_project_root(tmp_path: Path) -> None:
    data = Settings().data.model_copy(update={"provider": ProviderName.FILES})
    provider = make_provider(data, as_of=date(2026, 11, 20), project_root=tmp_path)
    assert isinstance(provider, FilesProvider)


def test_the_factory_signature_names_no_context() -> None:
    assert list(inspect.signature(make_provider).parameters) == ["data", "as_of", "project_root"]
