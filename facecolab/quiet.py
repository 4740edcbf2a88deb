"""TensorFlow's start-up log lines, filtered as ``TF_CPP_MIN_LOG_LEVEL`` asks, and a
progress bar that needs no widgets.

TensorFlow ≥ 2.16 writes C++ log lines (absl's format, ``I0000 00:00:… port.cc:153] oneDNN
custom operations are on…``) while it is imported and while it looks for a GPU, before absl's
logging is initialised, and those ignore ``TF_CPP_MIN_LOG_LEVEL``
(tensorflow/tensorflow#100442). :func:`start_tensorflow` imports TensorFlow and lists its
devices with the process's stderr (file descriptor 2) sent to a temporary file, then writes
back every line except the ones the level hides: absl records below it, absl's "All log
messages before absl::InitializeLog()" notice, the CPU-instructions notice's second line,
and, at level 2 and up, the failed ``cuInit`` of a machine without a usable GPU (TensorFlow
runs on the CPU then; ``list_physical_devices("GPU")`` is empty). Anything else is kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
ABSL_RECORD = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")
SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to"
CPU_NOTICE_TAIL = "To enable the following instructions:"
NO_GPU = "failed call to cuInit"


def hidden(line: str, level: int) -> bool:
    """Whether start-up ``line`` is one that log level ``level`` (0–3) hides."""
    if level < 1:
        return False
    if line.startswith(ABSL_NOTICE) or line.startswith(CPU_NOTICE_TAIL):
        return True
    record = ABSL_RECORD.match(line)
    if record is None:
        return False
    if level >= 2 and NO_GPU in line:
        return True
    return SEVERITY[record.group(1)] < level


def log_level(default: int = 2) -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as an int; when unset (or not a number) it is set to
    ``default`` for this process, so TensorFlow's own filter agrees with :func:`hidden`."""
    text = os.environ.get(LEVEL_VARIABLE, "")
    if not text.strip().isdigit():
        os.environ[LEVEL_VARIABLE] = text = str(default)
    return int(text)


@contextlib.contextmanager
def filtered_native_stderr(level: int):
    """Within the block, what anything in the process (C++ included) writes to file
    descriptor 2 is held back; at the end the lines :func:`hidden` keeps are written to it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True) if not hidden(line, level)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def start_tensorflow(default_level: int = 2) -> None:
    """Import TensorFlow and find its devices with the start-up lines filtered (see the
    module docstring); nothing when Keras runs on another backend, when TensorFlow is
    already imported or not installed."""
    level = log_level(default_level)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow" or "tensorflow" in sys.modules:
        return
    with filtered_native_stderr(level):
        try:
            import tensorflow as tf
        except ImportError:
            return
        tf.config.list_physical_devices("GPU")


def progress_bar():
    """``tqdm``'s class: the notebook widget when ipywidgets is installed, else the text bar
    (``tqdm.auto`` warns "IProgress not found" in a notebook without ipywidgets)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm
