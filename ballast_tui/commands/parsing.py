"""How `ballast` parses: one-line refusals, defaults in help, what completion scripts should offer."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An argument parser whose refusals are one line (and exit status 2), naming where help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, argparse.SUPPRESS, [])
            or not action.option_strings
            or action.help == argparse.SUPPRESS
        ):
            return action.help
        return f"{text} (default: %(default)s)"


def completes(action: argparse.Action, kind: Mapping[str, object]) -> argparse.Action:
    """Tell the completion scripts what an argument is (a file, a directory)."""
    action.complete = kind  # type: ignore[attr-defined]
    return action


def command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command `args` are for (`ballast user add`'s own), so errors point at its help."""
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(args, sub.dest, None) if sub is not None and sub.dest else None
        if sub is None or chosen is None:
            return parser
        parser = sub.choices[chosen]
