"""Helpers of the hostile-input suite: run an entry point in-process and get its exit code
and output, snapshot a folder to prove nothing was written or overwritten, run a child
process as another user or under a file-size limit, tiny configs.

Every case states the exact outcome: the exit code, the message (a regex that names the file
or option and the problem) and the files left behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIZE = 32
TINY_UNET = {"name": "unet", "options": {"depth": 2, "base_filters": 4}}
PR_CAPBSET_DROP = 24


def snapshot(folder) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (``{}`` if it is absent)."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    if folder.is_file():
        return {".": hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def files(folder) -> list[str]:
    """Relative names of the files under ``folder`` (sorted; ``[]`` if absent)."""
    return sorted(snapshot(folder))


def call(capsys, main, argv) -> tuple[int, str, str]:
    """``main(argv)`` in this process: ``(exit code, stdout, stderr)``; argparse usage errors
    (``SystemExit``) give their code too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def facecolab(capsys, *argv) -> tuple[int, str, str]:
    from facecolab.cli.main import main

    return call(capsys, main, argv)


def prepare_cli(capsys, *argv) -> tuple[int, str, str]:
    from facecolab.cli.prepare import main

    return call(capsys, main, [*argv, "--workers", "1", "--no-progress"])


def f1_score(capsys, *argv) -> tuple[int, str, str]:
    from facecolab.measures.score import main

    return call(capsys, main, argv)


def one_line_error(err: str, pattern: str, prefix: str = "") -> None:
    """``err`` is exactly one line, starts with ``prefix`` and matches ``pattern``."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), err
    assert re.search(pattern, lines[0]), (pattern, lines[0])


def subprocess_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}


def _obey_permissions() -> None:
    """Make file permissions apply to this process even as root: drop CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding set, so the program exec'd next never gets them
    (as any other user never has them)."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_python(code: str, *args, permissions: bool = False, fsize: int | None = None):
    """``python -c code args`` in a child process; ``permissions``: file permissions apply to
    it even when the tests run as root; ``fsize``: a file-size limit in bytes (writes past
    it fail with EFBIG, as on a full disk)."""

    def limits():
        if fsize is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if permissions:
            _obey_permissions()

    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        preexec_fn=limits,
        timeout=120,
    )


def tiny_config(prepared, **changes) -> dict:
    return {
        "name": "tiny",
        "data": {"dataset": "lfw_parts", "prepared": str(prepared), "image_size": [SIZE, SIZE]},
        "model": TINY_UNET,
        "callbacks": {"tensorboard": False},
        "batch_size": 2,
        "epochs": 1,
    } | changes


def start_python(code: str, *args) -> subprocess.Popen:
    """``python -c code args`` running in the background, stdin/stdout as text pipes."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
