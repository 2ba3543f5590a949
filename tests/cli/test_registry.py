"""The subcommands of ``bnpg``: one module each, registered in bnpg.cli.registry."""

import importlib

import numpy as np
import pytest

from bnpg import cli
from bnpg.cli.registry import COMMANDS, Command, register, summary

MODULES = {"check": "check", "lemma2": "lemmas", "lemma3": "lemmas", "correlation": "correlation",
           "predecessor": "predecessor", "sampling": "sampling"}


def test_every_subcommand_module_registers_its_command():
    assert list(COMMANDS) == list(MODULES)
    for name, module in MODULES.items():
        mod = importlib.import_module(f"bnpg.cli.{module}")
        command = COMMANDS[name]
        assert command.run.__module__ == mod.__name__ or getattr(command.run, "func", None).__module__ == mod.__name__
        assert command.add_arguments.__module__ == mod.__name__
        assert command.summary is None or command.summary.__module__ == mod.__name__


def test_the_parser_has_one_subparser_per_command_with_its_own_options():
    parser = cli.build_parser()
    actions = [a for a in parser._actions if a.dest == "command"][0]
    assert list(actions.choices) == list(COMMANDS)
    args = parser.parse_args(["correlation", "--out", "x.npz", "--jobs", "2"])
    assert (args.games, args.jobs, args.method) == (50, 2, "path")
    with pytest.raises(SystemExit):
        parser.parse_args(["sampling", "--out", "x.npz", "--games", "2"])


def test_summary_dispatches_on_the_study_and_refuses_an_unknown_one():
    text = summary({"study": "lemma3", "met": np.array([True]), "optimality_ratio": np.array([0.25])})
    assert text.startswith("lemma3: 1 instances") and cli.summary is summary
    with pytest.raises(ValueError, match="'unknown'"):
        summary({"study": "unknown"})


def test_a_command_name_or_study_is_registered_once():
    with pytest.raises(ValueError, match="registered already"):
        register(Command("check", "again", lambda p: None, lambda a: 0))
    with pytest.raises(ValueError, match="belongs to 'correlation'"):
        register(Command("other", "x", lambda p: None, lambda a: 0, lambda r: "", ("correlation",)))
    with pytest.raises(TypeError, match="run must be callable"):
        Command("other", "x", lambda p: None, None)
    assert "other" not in COMMANDS
