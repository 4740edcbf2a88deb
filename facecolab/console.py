"""What the user sees and types at a terminal: TensorFlow's start-up log lines, filtered as
``TF_CPP_MIN_LOG_LEVEL`` asks, a progress bar that needs no widgets, and the argument types
of the command lines. Imports only ``constants``.

TensorFlow ≥ 2.16 writes C++ log lines (absl's format, ``I0000 00:00:… port.cc:153] oneDNN
custom operations are on…``) while it is imported and while it looks for a GPU, before absl's
logging is initialised, and those ignore ``TF_CPP_MIN_LOG_LEVEL``
(tensorflow/tensorflow#100442). :func:`start_tensorflow` imports TensorFlow and lists its
devices with the process's stderr (file descriptor 2) sent to a temporary file, then writes
back every line except the ones the level hides: absl records below it, absl's "All log
messages before absl::InitializeLog()" notice, the CPU-instructions notice's second line,
TFLite's ``INFO:`` lines (its XNNPACK delegate, when an interpreter is created), and, at
level 2 and up, the failed ``cuInit`` of a machine without an NVIDIA driver
(``/dev/nvidiactl`` absent: TensorFlow runs on the CPU, as it must). Anything else is kept,
so a GPU that is there but unusable is still reported.

The shared argument types live here too: argparse types for numeric options, so a bad value
is a usage error naming the option (exit 2) before any work, and the options several command
lines share (``facecolab``, ``data_prep/load_data.py``, the apps).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

from facecolab.constants import DEFAULT_THREADS, MAX_PIXELS, MAX_SIDE, MAX_THREADS

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
ABSL_RECORD = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")
SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to"
CPU_NOTICE_TAIL = "To enable the following instructions:"
TFLITE_INFO = "INFO: "  # TFLite's own log format, e.g. "INFO: Created TensorFlow Lite XNNPACK …"
NO_GPU = "failed call to cuInit"
NVIDIA_DRIVER = Path("/dev/nvidiactl")
# Where the warnings :func:`quiet_backend` hides come from (``warnings`` module patterns).
BACKEND_MODULES = (r"keras(\..*)?$", r"tensorflow(\..*)?$", r"absl(\..*)?$")


def hidden(line: str, level: int, gpu_driver: bool = False) -> bool:
    """Whether start-up ``line`` is one that log level ``level`` (0–3) hides; ``gpu_driver``:
    an NVIDIA driver is present, so a failed ``cuInit`` is news and kept."""
    if level < 1:
        return False
    if line.startswith((ABSL_NOTICE, CPU_NOTICE_TAIL, TFLITE_INFO)):
        return True
    record = ABSL_RECORD.match(line)
    if record is None:
        return False
    if level >= 2 and NO_GPU in line and not gpu_driver:
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
def filtered_native_stderr(level: int, gpu_driver: bool = False):
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
            lines = text.splitlines(keepends=True)
            kept = [line for line in lines if not hidden(line, level, gpu_driver)]
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
    with filtered_native_stderr(level, gpu_driver=NVIDIA_DRIVER.exists()):
        try:
            import tensorflow as tf
        except ImportError:
            return
        tf.config.list_physical_devices("GPU")


def quiet_backend(verbose: bool = False) -> None:
    """Start the backend as a command line does once its arguments are checked: TensorFlow's
    start-up lines filtered (:func:`start_tensorflow`; ``verbose``: all of them shown, unless
    ``TF_CPP_MIN_LOG_LEVEL`` says otherwise) and, unless ``verbose``, the Python warnings of
    Keras and TensorFlow hidden: they are about the libraries' internals (deprecations,
    retracing, ignored arguments), not about anything the user typed."""
    start_tensorflow(0 if verbose else 2)
    if not verbose:
        for module in BACKEND_MODULES:
            warnings.filterwarnings("ignore", module=module)


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


# Argument types shared by the command lines.


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer ≥ 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def image_size(text: str) -> tuple[int, int]:
    """An argparse type for an image size: ``"256"`` → (256, 256); ``"256,192"`` or
    ``"256x192"`` → (height, width)."""
    parts = text.lower().replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or H,W, got {text!r}") from None
    if len(values) not in (1, 2) or min(values) < 1 or max(values) > MAX_SIDE:
        raise argparse.ArgumentTypeError(
            f"size must be N or H,W with ints 1..{MAX_SIDE}, got {text!r}"
        )
    return (values[0], values[-1])


def int_in(low: int, high: int):
    """An argparse type: a whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
        return value

    parse.__name__ = f"whole number in [{low}, {high}]"
    return parse


def float_in(low: float, high: float, *, high_open: bool = False):
    """An argparse type: a finite number in ``[low, high]`` (``[low, high)`` with
    ``high_open``); ``nan`` and ``inf`` are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = low <= value < high if high_open else low <= value <= high
        if not math.isfinite(value) or not inside:
            bracket = ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}{bracket}, got {text}")
        return value

    parse.__name__ = f"number in [{low}, {high}]"
    return parse


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads``: CPU threads of a ``.tflite`` model
    (``facecolab.modelfiles.runner.tflite_runner``), 1 to ``constants.MAX_THREADS``."""
    parser.add_argument(
        "--threads",
        type=int_in(1, MAX_THREADS),
        default=DEFAULT_THREADS,
        help=f"CPU threads of a .tflite model (default {DEFAULT_THREADS}, at most {MAX_THREADS})",
    )


def add_max_pixels_option(parser: argparse.ArgumentParser) -> None:
    """``--max-pixels``: the largest image (width × height) a command decodes
    (``facecolab.data.imageio.pixel_limit``)."""
    parser.add_argument(
        "--max-pixels",
        type=int_in(1, 2**40),
        default=MAX_PIXELS,
        metavar="N",
        help=f"refuse images of more pixels than this, before decoding (default {MAX_PIXELS})",
    )


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """``--verbose``: the backend's own log lines and warnings too (:func:`quiet_backend`)."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show the backend's log lines and warnings (TensorFlow start-up, Keras)",
    )
