"""``scripts/setup.sh``: safe to source (the README's ``. scripts/setup.sh``), strict when run.

Each case runs the real script in a copy of the repository's layout whose ``.venv`` holds a
fake ``python`` (it logs its arguments; ``pip`` fails when ``FAKE_PIP_RC`` says so), so nothing
is installed and the cases take milliseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = "-m" ]; then exit "${FAKE_PIP_RC:-0}"; fi
exit 0
"""

# The caller's state before and after sourcing: options, shopt, working folder, and any
# variable setup.sh might leave behind.
SHOW_STATE = 'set -o; shopt; pwd; compgen -v _facecolab || true; echo "trap: $(trap -p ERR)"'


@pytest.fixture
def fake_repo(tmp_path) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        (root / name).write_text(f"# {name}\n")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "activate").write_text("export FAKE_ACTIVATED=1\n")
    # A python/python3 first on PATH that is the fake too: a script that ignored .venv would
    # still install nothing anywhere.
    (root / "fakebin").mkdir()
    for name in ("python", "python3"):
        shutil.copy(bin_dir / "python", root / "fakebin" / name)
    return root


def run_bash(root: Path, script: str, pip_rc: int = 0) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{root / 'fakebin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(root),
        "FAKE_LOG": str(root / "calls.log"),
        "FAKE_PIP_RC": str(pip_rc),
    }
    return subprocess.run(
        ["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )


def pip_calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return (
        [line for line in log.read_text().splitlines() if line.startswith("-m pip")]
        if (log.exists())
        else []
    )


# (options the caller has set before sourcing) — an interactive shell's defaults, a
# script's strict options, and a mix.
CALLER_OPTIONS = ["set +euo pipefail", "set -euo pipefail", "set -u; set +e"]


@pytest.mark.parametrize("options", CALLER_OPTIONS)
def test_sourcing_leaves_the_callers_options_and_activates(fake_repo, options):
    script = (
        f"{options}; cd scripts; before=$({SHOW_STATE}); . ./setup.sh; rc=$?; "
        f'after=$({SHOW_STATE}); [ "$before" = "$after" ] || {{ diff <(echo "$before") '
        '<(echo "$after"); exit 9; }; echo "rc=$rc activated=${FAKE_ACTIVATED:-no}"'
    )
    result = run_bash(fake_repo, script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rc=0 activated=1" in result.stdout
    assert len(pip_calls(fake_repo)) == 3  # pip upgrade, requirements, the package


def test_a_second_run_installs_nothing_until_a_requirement_changes(fake_repo):
    assert run_bash(fake_repo, ". scripts/setup.sh").returncode == 0
    assert len(pip_calls(fake_repo)) == 3
    result = run_bash(fake_repo, ". scripts/setup.sh")
    assert result.returncode == 0 and "up to date" in result.stdout
    assert len(pip_calls(fake_repo)) == 3
    (fake_repo / "requirements.txt").write_text("numpy\n")
    assert run_bash(fake_repo, ". scripts/setup.sh").returncode == 0
    assert len(pip_calls(fake_repo)) == 6


def test_a_failure_when_sourced_returns_and_keeps_the_shell_open(fake_repo):
    script = (
        f"before=$({SHOW_STATE}); . scripts/setup.sh; rc=$?; after=$({SHOW_STATE}); "
        'false; echo "still open rc=$rc same=$([ "$before" = "$after" ] && echo yes) '
        'activated=${FAKE_ACTIVATED:-no}"'
    )
    result = run_bash(fake_repo, script, pip_rc=3)
    assert "still open rc=3 same=yes activated=no" in result.stdout, result.stderr
    assert "setting up" in result.stderr and "failed (exit 3)" in result.stderr
    assert not (fake_repo / ".venv" / ".facecolab-setup").exists()


@pytest.mark.parametrize(
    "script",
    [
        "bash scripts/setup.sh; echo exit=$?",  # executed: its own exit status
        "set -e; . scripts/setup.sh; echo exit=0",  # sourced by a strict script (CI): it stops
    ],
)
def test_a_failure_fails_a_strict_caller(fake_repo, script):
    result = run_bash(fake_repo, script, pip_rc=4)
    assert "exit=0" not in result.stdout
    if "echo exit=$?" in script:
        assert "exit=4" in result.stdout
    else:
        assert result.returncode == 4


def test_the_scripts_that_source_it_run_from_the_repository_root():
    for name in ("scripts/test.sh", "scripts/demo.sh", ".ci/run"):
        lines = (REPO / name).read_text().splitlines()
        source = lines.index(". scripts/setup.sh")
        assert any(line.startswith("cd ") for line in lines[:source]), name
