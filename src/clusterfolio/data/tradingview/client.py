"""What the scanner client and the provider share: closing as a context manager, and warnings
recorded and logged once each."""

from __future__ import annotations

import logging
from typing import Self


class WarningsClient:
    """Base of a TradingView client that holds connections and collects warnings.

    A subclass sets :attr:`warnings` in its constructor and implements :meth:`close`; ``with``
    closes it. A warning is logged by the logger of the subclass's module.

    Attributes
    ----------
    warnings : list of str
        What was not done as configured, each message once, in the order first seen.
    """

    warnings: list[str]

    def close(self) -> None:
        """Release the connections (implemented by the subclass)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            logging.getLogger(type(self).__module__).warning(message)
