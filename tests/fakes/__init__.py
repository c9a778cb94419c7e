"""Test doubles shared by the tests and the benchmarks (never shipped in the package).

- :mod:`tests.fakes.tradingview`: loopback TradingView scanner and chart servers;
- :mod:`tests.fakes.sample_run`: the real steps run once on a tiny synthetic market, copied per test;
- :mod:`tests.fakes.kill`: the crash-safety hook that SIGKILLs a run at a chosen point.

The repository root is on ``sys.path`` for pytest (``pythonpath`` in ``pyproject.toml``);
a benchmark puts it there itself.
"""
