"""Domain errors. Library code raises these; only the CLI turns them into messages and exit codes.

Each error's ``str()`` is the whole story: what failed, where (file, key, source) and why.
"""

from __future__ import annotations

from collections.abc import Sequence


class SignalsError(Exception):
    """Base class of every error signals raises on purpose."""

    exit_code = 1


class ConfigError(SignalsError):
    """One or more problems in a config file; all of them are listed, one per line."""

    exit_code = 2

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ArchiveError(SignalsError):
    """The archive cannot be opened, migrated or written."""


class DaemonLockedError(SignalsError):
    """Another daemon already runs on this archive."""


class UsageError(SignalsError):
    """The command line asks for something that does not exist (e.g. an unknown source id)."""

    exit_code = 2
