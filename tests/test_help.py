"""Every option of every command line says what it does: ``facecolab <command>`` (each
subparser of ``facecolab.cli.main``), ``data_prep/load_data.py``, ``f1_score.py`` and each
app (``python -m facecolab.apps.<name>``) have a description and a help string per option."""

from __future__ import annotations

import argparse

import pytest

from facecolab.apps import face_parsing, portrait, recolour, webcam
from facecolab.cli import main as cli
from facecolab.cli import prepare
from facecolab.measures import score


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


PARSERS = {
    "facecolab": cli.build_parser(),
    **{f"facecolab {n}": p for n, p in subparsers(cli.build_parser()).items()},
    "load_data.py": prepare.build_parser(),
    "f1_score.py": score.build_parser(),
    **{
        f"apps.{m.__name__.rsplit('.', 1)[1]}": m.build_parser()
        for m in (face_parsing, portrait, recolour, webcam)
    },
}


def test_every_command_is_walked():
    assert {f"facecolab {name}" for name in cli.SUBCOMMANDS} <= set(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help(name):
    parser = PARSERS[name]
    assert (parser.description or "").strip(), f"{name}: no description"
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and not (action.help or "").strip()
        and action.help != argparse.SUPPRESS
    ]
    assert not missing, f"{name}: options without help: {missing}"
