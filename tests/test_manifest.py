"""The manifest: profiles, inheritance, overrides, precedence and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusterfolio.enums import ProviderName
from clusterfolio.errors import ConfigError
from clusterfolio.io import canonical_json
from clusterfolio.manifest import (
    ManifestFile,
    env_overrides,
    load,
    load_manifest_file,
    manifest_json_schema,
    resolve,
)


@pytest.fixture()
def manifest_path(repo_root: Path) -> Path:
    return repo_root / "configs" / "manifest.json"


def test_schema_file_in_sync_with_models(repo_root: Path) -> None:
    on_disk = (repo_root / "configs" / "manifest.schema.json").read_text()
    assert on_disk == canonical_json(manifest_json_schema()), (
        "configs/manifest.schema.json is stale: run `make schema`"
    )


def test_every_profile_resolves(manifest_path: Path) -> None:
    data = load_manifest_file(manifest_path)
    assert {"production", "production_v2_canary", "development"} <= set(data.profiles)
    for name in data.profiles:
        resolved = resolve(data, name, environ={})
        assert resolved.settings.risk.cluster_cap == 0.25
        assert resolved.settings.backtest.baseline == "AMEX:SPY"


def test_production_values(manifest_path: Path) -> None:
    s = load(manifest_path, environ={}).settings
    assert s.data.lookback_days == 500
    assert s.data.light_lookback_days == 60
    assert (s.selection.top_n, s.selection.threshold) == (3, 0.4)
    assert (s.backtest.train, s.backtest.test, s.backtest.step) == (252, 20, 20)
    assert (s.backtest.slippage, s.backtest.commission) == (0.0005, 0.0001)
    assert s.data.provider is ProviderName.SYNTHETIC
    assert not any(s.features.model_dump().values())


def test_canary_inherits_production_and_turns_every_flag_on(manifest_path: Path) -> None:
    canary = load(manifest_path, "production_v2_canary", environ={}).settings
    production = load(manifest_path, "production", environ={}).settings
    assert all(canary.features.model_dump().values())
    assert canary.data == production.data


def test_precedence_cli_over_env_over_profile(manifest_path: Path) -> None:
    env = {"CLUSTERFOLIO__SELECTION__TOP_N": "4", "CLUSTERFOLIO__RISK__CLUSTER_CAP": "0.3"}
    resolved = load(manifest_path, "production", ["selection.top_n=5"], environ=env)
    assert resolved.settings.selection.top_n == 5
    assert resolved.settings.risk.cluster_cap == 0.3
    assert env_overrides(env) == ["risk.cluster_cap=0.3", "selection.top_n=4"]


def test_config_hash_changes_with_overrides(manifest_path: Path) -> None:
    a = load(manifest_path, environ={})
    b = load(manifest_path, overrides=["selection.top_n=4"], environ={})
    assert a.config_hash != b.config_hash
    assert a.config_hash == load(manifest_path, environ={}).config_hash


def test_unknown_key_names_key_and_allowed(manifest_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cluster_capp.*allowed: \[.*'cluster_cap'"):
        load(manifest_path, overrides=["risk.cluster_capp=0.3"], environ={})


def test_unknown_section(manifest_path: Path) -> None:
    with pytest.raises(ConfigError, match="riskk"):
        load(manifest_path, overrides=["riskk.cluster_cap=0.3"], environ={})


def test_bad_value_names_key_and_allowed_values(manifest_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.provider.*synthetic.*files.*tradingview"):
        load(manifest_path, overrides=["data.provider=yahoo"], environ={})
    with pytest.raises(ConfigError, match=r"risk\.cluster_cap"):
        load(manifest_path, overrides=["risk.cluster_cap=abc"], environ={})


def test_unknown_profile(manifest_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'prod'.*development"):
        load(manifest_path, "prod", environ={})


def test_typo_in_manifest_file_names_key(tmp_path: Path, manifest_path: Path) -> None:
    raw = json.loads(manifest_path.read_text())
    raw["defaults"]["selection"]["top_nn"] = 3
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r"selection\.top_nn.*unknown key"):
        load(bad, environ={})


def test_typo_in_profile_override(tmp_path: Path, manifest_path: Path) -> None:
    raw = json.loads(manifest_path.read_text())
    raw["profiles"]["development"]["overrides"]["data.lookbak_days"] = 3
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="lookbak_days"):
        load(bad, "development", environ={})


def test_top_level_typo_and_invalid_json(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text('{"default_profile": "p", "profiles": {"p": {}}, "defualts": {}}')
    with pytest.raises(ConfigError, match="defualts"):
        load_manifest_file(bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=str(bad)):
        load_manifest_file(bad)


def test_inheritance_cycle(tmp_path: Path) -> None:
    data = ManifestFile.model_validate(
        {"default_profile": "a", "profiles": {"a": {"extends": "b"}, "b": {"extends": "a"}}}
    )
    with pytest.raises(ConfigError, match="cycle"):
        resolve(data, "a", environ={})
