"""The report configuration read from a run ledger."""

from __future__ import annotations


def test_config_from_a_ledger_of_another_version() -> None:
    from clusterfolio.manifest import Settings
    from clusterfolio.report.config import ReportConfig

    settings = Settings().model_dump(mode="json")
    settings["risk"]["a_key_from_the_future"] = 1
    settings["features"]["feat_decay_audit"] = True
    del settings["backtest"]["slippage"]
    config = ReportConfig.from_ledger({"run_id": "r", "as_of": "2026-11-20", "settings": settings})
    assert config.decay_audit and config.run_id == "r"
    assert config.slippage == Settings().backtest.slippage
    assert config.essential_combinations[-1] == ("market", "market", "realized")
    assert ("custom", "hrp", "realized") in config.essential_combinations
    assert ReportConfig.from_ledger({}).baseline == "AMEX:SPY"
