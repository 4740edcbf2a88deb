"""Every shell command of README.md and docs/*.md works as written, in its cheapest form.

The commands are read from the README itself (its ``bash`` blocks, and inline code that
starts with ``python`` or ``bash``), so a new or changed command is checked without editing
this file. Each one is parsed by its own entry point's argument parser exactly as written
(option names, required options, choices and types), the files it names in this repository
(scripts, configs) must exist, shell scripts must pass ``bash -n``, and every entry point
answers ``--help`` from the checkout. Running the commands for real needs the datasets; the
workflows behind them have their own tests.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# The README and the user pages split from it: every shell command in them is checked.
USER_PAGES = ("usage", "notebooks", "results", "benchmarks", "deploy", "serve")
DOCS = [README, *(REPO / "docs" / f"{page}.md" for page in USER_PAGES)]

# Script files that are a thin shell over a package module's parser.
WRAPPERS = {
    "data_prep/load_data.py": "facecolab.cli.prepare",
    "f1_score.py": "facecolab.measures.score",
}
# Commands that are advice about other tools, not ours.
OTHER_TOOLS = ("pip ",)


def readme_commands(text: str) -> list[str]:
    """The shell commands of a README: the lines of its ``bash`` blocks (continuations
    joined, comments dropped) and inline code starting with ``python `` or ``bash ``."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s+)#.*$", "", line).strip()
            if line:
                commands.append(" ".join(line.split()))
    commands += re.findall(r"`((?:python|bash) [^`]+)`", text)
    return list(dict.fromkeys(commands))


COMMANDS = list(dict.fromkeys(c for doc in DOCS for c in readme_commands(doc.read_text())))


def test_the_readme_documents_the_main_commands():
    assert "bash scripts/demo.sh" in COMMANDS and "bash scripts/test.sh" in COMMANDS
    assert any(c.startswith("python f1_score.py") for c in COMMANDS)
    assert len(COMMANDS) > 20


def test_commands_are_read_as_written():
    text = "```bash\nbash a.sh    # note\npython x.py --a 1 \\\n    --b 2\n# only a comment\n```\n"
    text += "Then `python y.py --c` and `bash b.sh`."
    assert readme_commands(text) == [
        "bash a.sh",
        "python x.py --a 1 --b 2",
        "python y.py --c",
        "bash b.sh",
    ]


def _load_script(path: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(path.parent))  # benchmarks import their _report helper
    spec = importlib.util.spec_from_file_location(f"readme_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parser_and_arguments(words: list[str], monkeypatch):
    """The argument parser of a ``python ...`` command and the arguments it gets."""
    if words[1] == "-m":
        module, arguments = words[2], words[3:]
        if module == "facecolab":
            from facecolab.cli.main import build_parser

            return build_parser(arguments[0] if arguments else None), arguments
        return importlib.import_module(module).build_parser(), arguments
    script, arguments = words[1], words[2:]
    path = REPO / script
    assert path.is_file(), f"{script}: no such file in the repository"
    if script in WRAPPERS:
        return importlib.import_module(WRAPPERS[script]).build_parser(), arguments
    module = _load_script(path, monkeypatch)
    if not hasattr(module, "build_parser"):
        return None, arguments
    return module.build_parser(), arguments


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command(command, monkeypatch):
    if command.startswith(OTHER_TOOLS):
        return
    words = shlex.split(command)
    if words[0] in ("bash", "."):
        script = REPO / words[1]
        assert script.is_file(), f"{words[1]}: no such script"
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return
    assert words[0] == "python", f"unexpected command in README: {command}"
    parser, arguments = _parser_and_arguments(words, monkeypatch)
    if parser is not None:
        try:
            args = parser.parse_args(arguments)
        except SystemExit as error:
            pytest.fail(f"README command does not parse (exit {error.code}): {command}")
        config = getattr(args, "config", None)
        if isinstance(config, str) and config.startswith("configs/"):
            assert (REPO / config).is_file(), config


def _entry_points() -> list[list[str]]:
    """``python ...`` prefixes of the README's commands that run without arguments."""
    entries = []
    for command in COMMANDS:
        words = shlex.split(command)
        if words[0] != "python" or words[1].startswith("benchmarks/"):
            continue  # benchmarks import TensorFlow at start: their parsers are checked above
        entry = words[:3] if words[1] == "-m" else words[:2]
        if entry not in entries:
            entries.append(entry)
    return entries


# Runs each entry point as ``python`` would (``runpy``, ``__main__``) with ``--help``, all in
# one fresh interpreter started in the checkout: one TensorFlow import instead of one each.
HELP_RUNNER = """
import contextlib, io, runpy, sys
for entry in sys.argv[1:]:
    words = entry.split()
    sys.argv = [words[-1], "--help"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            if words[0] == "-m":
                runpy.run_module(words[1], run_name="__main__", alter_sys=True)
            else:
                sys.path.insert(0, str(__import__("pathlib").Path(words[0]).resolve().parent))
                runpy.run_path(words[0], run_name="__main__")
            code = 0
        except SystemExit as exit:
            code = exit.code
    print(entry, "->", code, "usage:" in out.getvalue())
"""


def test_every_entry_point_answers_help_from_the_checkout():
    entries = [" ".join(entry[1:]) for entry in _entry_points()]
    assert "-m facecolab" in entries and "f1_score.py" in entries
    done = subprocess.run(
        [sys.executable, "-c", HELP_RUNNER, *entries],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [f"{entry} -> 0 True" for entry in entries]


def test_the_readme_starts_fast():
    """The README stays a front page (≤ 12 KB); results and benchmarks live in docs/."""
    assert len(README.read_bytes()) <= 12 * 1024
    for page in ("docs/usage.md", "docs/results.md", "docs/benchmarks.md", "docs/models/"):
        assert f"]({page})" in README.read_text()
        assert (REPO / page).exists()
