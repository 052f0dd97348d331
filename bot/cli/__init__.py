"""The command line: serving, asking, the staff desk and the weekly report."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Protocol


class Subcommands(Protocol):
    """What a command module needs of the parser's subcommand list to add its own commands."""

    def add_parser(
        self, name: str, *, help: str, parents: Sequence[argparse.ArgumentParser] = ...
    ) -> argparse.ArgumentParser: ...
