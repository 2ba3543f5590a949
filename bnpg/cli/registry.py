"""The subcommands of ``bnpg``: each module of :mod:`bnpg.cli` registers a :class:`Command` here.

A :class:`Command` holds everything about one subcommand: its name and help, a function that adds
its arguments to its parser, the function that runs it, and the function that condenses the
results it writes into a few lines (:func:`summary`), keyed by the ``study`` those results record.
:func:`bnpg.cli.build_parser` builds the parser from :data:`COMMANDS`, in the order they registered.

>>> import bnpg.cli
>>> list(COMMANDS)
['check', 'lemma2', 'lemma3', 'correlation', 'predecessor', 'sampling']
>>> COMMANDS["correlation"].studies
('correlation',)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["COMMANDS", "Command", "register", "summary"]


@dataclass(frozen=True)
class Command:
    """One subcommand of ``bnpg``.

    Attributes
    ----------
    name : str
        What follows ``bnpg`` on the command line.
    help : str
        One line for ``bnpg --help``.
    add_arguments : callable
        ``add_arguments(parser)`` adds the subcommand's arguments to its ``argparse`` parser.
    run : callable
        ``run(args)`` does the work for the parsed ``args`` and returns the exit status; it raises
        :class:`bnpg.cli.arguments.Refused` for a bad argument found after parsing.
    summary : callable, optional
        ``summary(results)``: a short plain-text account of the results the subcommand writes.
    studies : tuple of str
        The values of ``results["study"]`` that ``summary`` reads.
    parser_options : mapping
        Further keywords of the subcommand's parser (``description``, ``epilog``, ``formatter_class``).
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    summary: Callable[[dict], str] | None = None
    studies: tuple[str, ...] = ()
    parser_options: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or self.name.startswith("-"):
            raise ValueError(f"name must be a subcommand name, got {self.name!r}")
        for attribute in ("add_arguments", "run"):
            if not callable(getattr(self, attribute)):
                raise TypeError(f"{attribute} must be callable, got {type(getattr(self, attribute)).__name__}")
        if self.summary is not None and not callable(self.summary):
            raise TypeError(f"summary must be callable or None, got {type(self.summary).__name__}")
        object.__setattr__(self, "studies", tuple(self.studies))
        if self.studies and self.summary is None:
            raise ValueError(f"command {self.name!r} names studies {self.studies} but has no summary")
        object.__setattr__(self, "parser_options", MappingProxyType(dict(self.parser_options)))


#: The registered subcommands, by name, in the order they registered.
COMMANDS: dict[str, Command] = {}


def register(command: Command) -> Command:
    """Add ``command`` to :data:`COMMANDS` and return it; a name or study taken already is refused.

    Raises
    ------
    TypeError
        If ``command`` is not a :class:`Command`.
    ValueError
        If its name, or one of its studies, belongs to another registered command.
    """
    if not isinstance(command, Command):
        raise TypeError(f"command must be a Command, got {type(command).__name__}")
    if command.name in COMMANDS:
        raise ValueError(f"command {command.name!r} is registered already")
    taken = {study: other.name for other in COMMANDS.values() for study in other.studies}
    clash = [study for study in command.studies if study in taken]
    if clash:
        raise ValueError(f"command {command.name!r}: study {clash[0]!r} belongs to {taken[clash[0]]!r}")
    COMMANDS[command.name] = command
    return command


def summary(results: Mapping) -> str:
    """A short plain-text account of a study's results, by the command that writes that study.

    Raises
    ------
    ValueError
        If no registered command writes ``results["study"]``.
    """
    if not isinstance(results, Mapping) or "study" not in results:
        raise TypeError("results must be a mapping with a 'study' entry")
    name = str(results["study"])
    for command in COMMANDS.values():
        if name in command.studies:
            return command.summary(results)
    known = [s for c in COMMANDS.values() for s in c.studies]
    raise ValueError(f"results['study'] is {name!r}; the command line summarises {known}")
