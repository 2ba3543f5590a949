r"""The command line: ``bnpg check GAME.npz`` on a game of your own, and the studies at larger scale.

One module per subcommand, each registering a :class:`~bnpg.cli.registry.Command` (its arguments, its
run and the summary of what it writes) in :data:`bnpg.cli.registry.COMMANDS`:

* :mod:`bnpg.cli.check`: ``bnpg check`` runs every numbered statement of the paper
  (:func:`bnpg.paper.check`) on a game written by :meth:`bnpg.MarkovGame.save`, prints the verdict
  table, and writes the JSON and the report it is asked for;
* :mod:`bnpg.cli.lemmas`, :mod:`bnpg.cli.correlation`, :mod:`bnpg.cli.predecessor` and
  :mod:`bnpg.cli.sampling`: ``bnpg lemma2``, ``lemma3``, ``correlation``, ``predecessor`` and
  ``sampling`` run the studies of :mod:`bnpg.experiments.studies` and write their results as ``.npz``
  or ``.json``.

Every argument and every output path is checked before any work starts; a bad one ends the command
with a one-line message naming it and exit status 2, and no output file is written. Outputs are
written whole or not at all (:func:`bnpg.experiments.results.atomic_write`), with the permissions the
user's umask gives any new file. Ctrl-C (``KeyboardInterrupt``) ends a command with the one line
``bnpg: interrupted`` on stderr and exit status 130, leaving no output file (a study keeps its store of
finished instances, from which the same command resumes).

>>> parser = build_parser()
>>> parser.parse_args(["lemma2", "--out", "r.npz"]).instances
200
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bnpg._version import __version__

from .arguments import Parser, Refused
from .registry import COMMANDS, summary

__all__ = ["INTERRUPTED", "SUBCOMMAND_MODULES", "build_parser", "main", "summary"]

#: The modules of the subcommands, in the order ``bnpg --help`` lists them; importing one registers it.
SUBCOMMAND_MODULES = ("check", "lemmas", "correlation", "predecessor", "sampling")

#: The exit status after Ctrl-C: 128 + SIGINT, as a shell reports it.
INTERRUPTED = 130

for _module in SUBCOMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``bnpg``: one subparser per registered command, in the order they registered."""
    parser = Parser(prog="bnpg", description="Check the paper's statements on a game, or run the "
                    "book's studies at larger scale.")
    parser.add_argument("--version", action="version", version=f"bnpg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add_arguments(sub.add_parser(command.name, help=command.help, **command.parser_options))
    return parser


def main(argv=None) -> int:
    """Run ``bnpg`` with the arguments ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    The status is 0 on success, 2 for a bad argument (one line on stderr, nothing written) and 130
    (the shell's status for Ctrl-C) if interrupted: one line ``bnpg: interrupted`` on stderr, nothing
    written.

    Examples
    --------
    >>> main(["check", "no-such-game.npz"])
    2
    """
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        try:
            return COMMANDS[args.command].run(args)
        except Refused as exc:
            print(f"bnpg {args.command}: error: {exc}", file=sys.stderr)
            return 2
    except KeyboardInterrupt as exc:
        detail = f"; {exc}" if str(exc) else ""
        print(f"bnpg: interrupted{detail}", file=sys.stderr)
        return INTERRUPTED
