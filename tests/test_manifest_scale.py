"""The ``scale`` profile: 5,000 listings, five years of history, 200 winners, every tournament
setting it changes given a reason; a reason must name an override."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import ManifestFile, load, load_manifest_file, resolve


def test_scale_profile_is_five_thousand_listings_five_years_two_hundred_winners(
    repo_root: Path,
) -> None:
    path = repo_root / "configs" / "manifest.json"
    settings = load(path, "scale", (), {}).settings
    market = SyntheticProvider(settings.data.synthetic, date(2026, 11, 20))
    classes = {x.asset_class.value for x in market.listings()}
    assert len(market.listings()) == 5000
    assert {"equity", "etf", "bond", "commodity", "crypto", "forex"} <= classes
    assert settings.backtest.history_days + settings.discovery.history_days >= 5 * 365
    assert settings.selection.max_winners == 200
    spec = load_manifest_file(path).profiles["scale"]
    tournament = [k for k in spec.overrides if k.startswith(("backtest.", "tournament."))]
    assert set(tournament) <= set(spec.reasons)


def test_a_reason_must_name_an_override(tmp_path: Path) -> None:
    raw = {
        "default_profile": "p",
        "profiles": {"p": {"overrides": {"selection.top_n": 4}, "reasons": {"risk.x": "why"}}},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r"reasons for keys that are not overrides"):
        load_manifest_file(path)
    raw["profiles"]["p"]["reasons"] = {"selection.top_n": "why"}  # type: ignore[index]
    assert resolve(ManifestFile.model_validate(raw), "p").settings.selection.top_n == 4
