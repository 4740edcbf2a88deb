"""A command's stderr holds what the user needs, not TensorFlow's start-up chatter, Keras's
ignored-``shuffle`` warning or tqdm's missing-widgets warning (``facecolab.console``)."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from facecolab.console import filtered_native_stderr, hidden, progress_bar
from facecolab.data.sample import write_sample

REPO = Path(__file__).resolve().parents[1]

ONEDNN = (
    "I0000 00:00:1796002617.848885   14432 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results"
)
CUDA_STUB = (
    "I0000 00:00:1796002617.849249   14432 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used."
)
NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
CPU_TAIL = (
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags."
)
CUINIT = (
    "E0000 00:00:1796002625.173338   14432 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)
OTHER_ERROR = "E0000 00:00:1796002625.173338   14432 some_op.cc:7] out of memory"
WARNING_RECORD = "W0000 00:00:1796002625.173338   14432 some_op.cc:7] slow path"
TRACEBACK = "Traceback (most recent call last):"

# (line, level, hidden?)
CASES = [
    (ONEDNN, 0, False),
    (ONEDNN, 1, True),
    (CUDA_STUB, 2, True),
    (NOTICE, 0, False),
    (NOTICE, 1, True),
    (CPU_TAIL, 2, True),
    (WARNING_RECORD, 1, False),
    (WARNING_RECORD, 2, True),
    (CUINIT, 1, False),
    (CUINIT, 2, True),
    (OTHER_ERROR, 2, False),
    (OTHER_ERROR, 3, True),
    (TRACEBACK, 3, False),
    ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", 0, False),
    ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", 1, True),
    ("ValueError: data.root: no such folder", 3, False),
]


@pytest.mark.parametrize(("line", "level", "expected"), CASES)
def test_hidden_lines_follow_the_level(line, level, expected):
    assert hidden(line, level) is expected


def test_a_failed_cuinit_is_kept_where_an_nvidia_driver_is():
    assert hidden(CUINIT, 2, gpu_driver=False) and not hidden(CUINIT, 2, gpu_driver=True)
    assert hidden(CUINIT, 3, gpu_driver=True)  # level 3 hides every error


def test_native_writes_are_filtered_and_the_rest_kept_in_order(capfd):
    with filtered_native_stderr(2):
        for line in (NOTICE, ONEDNN, "first kept", CUINIT, OTHER_ERROR, "last kept"):
            os.write(2, f"{line}\n".encode())
    err = capfd.readouterr().err
    assert err == f"first kept\n{OTHER_ERROR}\nlast kept\n"


def test_an_error_inside_the_block_still_restores_stderr(capfd):
    with pytest.raises(RuntimeError), filtered_native_stderr(2):
        os.write(2, b"kept before the error\n")
        raise RuntimeError("boom")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "kept before the error\nafter\n"


def test_progress_bar_needs_no_widgets(monkeypatch):
    """tqdm.auto in a notebook without ipywidgets warns "IProgress not found"."""
    import tqdm.auto
    import tqdm.std

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    assert progress_bar() is tqdm.std.tqdm
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    assert progress_bar() is tqdm.auto.tqdm


NOISE = (
    "absl::InitializeLog",
    "oneDNN custom operations",
    "cuda drivers",
    "cuInit",
    "cpu_feature_guard",
    "To enable the following instructions",
    "IProgress not found",
    "`shuffle=True` was passed",
)


def test_a_tiny_training_run_has_a_quiet_stderr(tmp_path):
    """``python -m facecolab train`` on a few drawn faces, with TF_CPP_MIN_LOG_LEVEL unset:
    its stderr holds none of the lines users asked to be rid of."""
    root = write_sample("celebamask_hq", tmp_path / "raw", count=8, size=32)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = _train_command(tmp_path, root, "epochs=1")
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"mean_iou"' in done.stdout
    noisy = [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)]
    assert not noisy, "\n".join(noisy)


def _train_command(tmp_path, root, *extra):
    return [
        sys.executable,
        "-m",
        "facecolab",
        "train",
        "--config",
        "configs/p2_unet_celebamask_hq.json",
        "--run-dir",
        str(tmp_path / "run"),
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        "data.image_size=[32,32]",
        "batch_size=4",
        "callbacks.tensorboard=false",
        *extra,
    ]


def _interrupt_after_an_epoch(command, state, env):
    """Run ``command`` until the checkpoint ``state`` records one more epoch, then Ctrl-C."""
    import json
    import signal
    import time

    before = json.loads(state.read_text())["epoch"] if state.exists() else 0
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] > before:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def test_ctrl_c_in_training_says_how_to_resume_and_resuming_warns_of_nothing(tmp_path):
    """Ctrl-C: no traceback, one line with the exact resume command, exit 130. Resuming,
    even with --verbose, does not warn that the optimiser's variables were skipped (the
    optimiser is built before the checkpoint's weights load)."""
    root = write_sample("celebamask_hq", tmp_path / "raw", count=8, size=32)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    state = tmp_path / "run" / "checkpoint" / "state.json"
    code, out, err = _interrupt_after_an_epoch(
        _train_command(tmp_path, root, "epochs=100"), state, env
    )
    assert code == 130, err[-3000:]
    assert TRACEBACK not in err
    resume = f"facecolab train --resume {tmp_path / 'run'}"
    assert [line for line in err.splitlines() if resume in line], err[-3000:]
    assert "training epochs 1–100" in out  # said before the first epoch's slow start

    command = [sys.executable, "-m", "facecolab", "train", "--resume", str(tmp_path / "run")]
    code, out, err = _interrupt_after_an_epoch([*command, "--verbose"], state, env)
    assert code == 130, err[-3000:]
    assert "resuming after epoch" in out
    assert "Skipping variable loading" not in err, err[-3000:]
