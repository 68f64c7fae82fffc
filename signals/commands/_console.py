"""A rich Console for tables: terminal width on a terminal, wide enough not to wrap in a pipe."""

from __future__ import annotations

import sys
from typing import Any


def table_console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
