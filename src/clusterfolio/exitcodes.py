"""The documented exit codes of every ``clusterfolio`` command.

=====  =====================================================================================
code   meaning
=====  =====================================================================================
0      success
1      the audit failed or a command refused (accept-state of a failed run, orders of a run
       whose audit failed, unknown holdings symbols, a failed/running/stale run, the project
       lock held by another command)
2      bad input: an unknown option value, key, profile, run, symbol or file
3      a data problem: a provider failed, a stored file is corrupt, a table lacks columns,
       the strict health gate failed
=====  =====================================================================================
"""

from __future__ import annotations

from enum import IntEnum

from clusterfolio.errors import (
    AuditError,
    CorruptFileError,
    HealthError,
    ProviderError,
    PublishError,
    RunRefusedError,
    SchemaError,
)


class ExitCode(IntEnum):
    """Exit status of a command."""

    OK = 0
    REFUSED = 1
    BAD_INPUT = 2
    DATA_PROBLEM = 3


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code of an error (see the module docstring).

    Examples
    --------
    >>> from clusterfolio.errors import ConfigError, HealthError
    >>> int(exit_code_for(ConfigError("x"))), int(exit_code_for(HealthError("y")))
    (2, 3)
    """
    if isinstance(exc, AuditError | PublishError | RunRefusedError):
        return ExitCode.REFUSED
    if isinstance(exc, HealthError | ProviderError | CorruptFileError | SchemaError):
        return ExitCode.DATA_PROBLEM
    return ExitCode.BAD_INPUT
