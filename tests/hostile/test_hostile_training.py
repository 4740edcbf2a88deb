"""Hostile training runs: divergence, a second training into a busy run folder, data that does
not fit the config. Each stops with one line naming the cause, exit 2, and leaves the last
good state of the run folder byte for byte."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hostile_kit import facecolab, files, one_line_error, snapshot, start_python
from PIL import Image

# (optimizer settings, what the message says): each blows up in the first epoch.
DIVERGING = [
    ({"name": "sgd", "learning_rate": 1e38}, r"the loss is (nan|inf)|holds NaN or infinite"),
    ({"name": "adam", "learning_rate": 1e30}, r"the loss is (nan|inf)|holds NaN or infinite"),
    ({"name": "sgd", "learning_rate": 1e38, "momentum": 0.9}, r"the loss is (nan|inf)"),
]


@pytest.mark.parametrize(("optimizer", "message"), DIVERGING, ids=["sgd", "adam", "momentum"])
def test_divergence_in_the_first_epoch_saves_no_model(
    capsys, config_file, tmp_path, optimizer, message
):
    run = tmp_path / "run"
    config = config_file(optimizer=optimizer, epochs=3)
    code, _, err = facecolab(capsys, "train", "--config", config, "--run-dir", run)
    assert code == 2
    one_line_error(
        err,
        rf"{run}: training diverged in epoch 1: {message}.*no epoch had finished, so no model "
        r"was saved\. Lower optimizer\.learning_rate",
        prefix="facecolab train: error: ",
    )
    assert files(run) == ["config.json", "history.csv"]  # no model, no checkpoint
    assert (run / "history.csv").read_text() == ""


def test_divergence_after_good_epochs_keeps_them(capsys, config_file, tmp_path):
    """Two good epochs, then the learning rate of a resumed run explodes: epoch 3 stops the
    run and every file of epochs 1-2 stays byte for byte; nothing NaN is written."""
    run = tmp_path / "run"
    good = config_file(epochs=2, schedule={"name": "cosine"})
    assert facecolab(capsys, "train", "--config", good, "--run-dir", run)[0] == 0
    saved = json.loads((run / "config.json").read_text())
    saved["epochs"], saved["optimizer"]["learning_rate"] = 4, 1e38
    (run / "config.json").write_text(json.dumps(saved))
    before = snapshot(run)
    code, _, err = facecolab(capsys, "train", "--resume", run)
    assert code == 2
    one_line_error(
        err, r"diverged in epoch 3: .*the checkpoint of epoch 2 and model_best\.keras are kept"
    )
    assert snapshot(run) == before  # best, final, checkpoint, history, metrics untouched
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2 and np.isfinite(state["best"])


def test_second_training_into_a_busy_run_folder(capsys, config_file, tmp_path):
    """Another process holds the run folder: the second training fails at once, writes
    nothing, and the folder is free again when the first ends."""
    run = tmp_path / "run"
    holder = start_python(
        "import sys; from facecolab.fsutil import output_folder\n"
        "with output_folder(sys.argv[1]):\n"
        "    print('locked', flush=True); sys.stdin.read()",
        run,
    )
    assert holder.stdout.readline().strip() == "locked"
    code, _, err = facecolab(capsys, "train", "--config", config_file(), "--run-dir", run)
    holder.stdin.close()
    holder.wait(timeout=60)
    assert code == 2
    one_line_error(err, rf"{run}: in use by another facecolab process \(pid {holder.pid}\)")
    assert files(run) == []  # the holder's lock file is gone, nothing was written


def test_prepared_folder_of_another_dataset(capsys, config_file, helen_prepared, tmp_path):
    run = tmp_path / "run"
    config = config_file(data={"dataset": "lfw_parts", "prepared": str(helen_prepared)})
    code, _, err = facecolab(capsys, "train", "--config", config, "--run-dir", run)
    assert code == 2
    one_line_error(
        err, r"dataset\.json: the folder holds 'helen' data but data\.dataset = 'lfw_parts'"
    )
    assert not run.exists()


def test_model_that_does_not_fit_the_size_leaves_no_run(capsys, config_file, tmp_path):
    run = tmp_path / "run"
    code, _, err = facecolab(
        capsys, "train", "--config", config_file(), "--run-dir", run, "data.image_size=[30,30]"
    )
    assert code == 2
    one_line_error(err, r"U-Net of depth 2 needs H and W divisible by 4; got 30×30")
    assert not run.exists()


def test_prepared_label_outside_the_classes(capsys, config_file, lfw_prepared, tmp_path):
    """A label file with id 14 for 3 classes: the first batch stops, naming the file."""
    import shutil

    prepared = tmp_path / "prepared"
    shutil.copytree(lfw_prepared, prepared)
    label = sorted((prepared / "labels").glob("*.png"))[0]
    values = np.asarray(Image.open(label)).copy()
    values[0, :3] = 14
    Image.fromarray(values).save(label)
    run = tmp_path / "run"
    config = config_file(data={"dataset": "lfw_parts", "prepared": str(prepared)}, epochs=2)
    code, _, err = facecolab(capsys, "train", "--config", config, "--run-dir", run)
    assert code == 2
    one_line_error(err, rf"{label}: label values outside 0\.\.2 \(and 255\), e\.g\. 14 14 14")
    assert "model_best.keras" not in files(run) and "checkpoint/state.json" not in files(run)


def test_resume_of_nothing_creates_nothing(capsys, tmp_path):
    code, _, err = facecolab(capsys, "train", "--resume", tmp_path / "never")
    assert code == 2
    one_line_error(err, r"never/config\.json: nothing to resume")
    assert not (tmp_path / "never").exists()


def test_run_folder_that_is_a_file(capsys, config_file, tmp_path):
    run = tmp_path / "run"
    run.write_text("precious")
    code, _, err = facecolab(capsys, "train", "--config", config_file(), "--run-dir", run)
    assert code == 2
    one_line_error(err, rf"{run}: output folder exists and is not a folder")
    assert run.read_text() == "precious"


@pytest.fixture(scope="module")
def finished_run(lfw_prepared, tmp_path_factory):
    """A finished 1-epoch run, read-only (cases copy it)."""
    from hostile_kit import tiny_config

    from facecolab.workflows.train import train

    run = tmp_path_factory.mktemp("finished") / "run"
    train(tiny_config(lfw_prepared, epochs=1), run, verbose=0)
    return run


def _state_garbage(run):
    (run / "checkpoint" / "state.json").write_text("{half")
    return r"checkpoint/state\.json: damaged resume state"


def _state_without_epoch(run):
    (run / "checkpoint" / "state.json").write_text('{"weights": "x"}')
    return r"checkpoint/state\.json: damaged resume state \('epoch'\)"


def _state_points_outside(run):
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    state["weights"] = "../../../elsewhere.weights.h5"
    (run / "checkpoint" / "state.json").write_text(json.dumps(state))
    return r"checkpoint: the checkpoint cannot be restored \(ValueError: .* points outside"


def _weights_missing(run):
    next((run / "checkpoint").glob("model-*.weights.h5")).unlink()
    return r"checkpoint: the checkpoint cannot be restored"


def _history_garbage(run):
    (run / "history.csv").write_text("epoch,loss\nten,0.5\n")
    return r"history\.csv: damaged history \(a row without an epoch number\)"


def _tensorboard_is_a_file(run):
    config = json.loads((run / "config.json").read_text())
    config["callbacks"]["tensorboard"] = True
    (run / "config.json").write_text(json.dumps(config))
    (run / "tensorboard").write_text("x")
    return r"run/tensorboard: output folder exists and is not a folder"


RESUME_CASES = [
    _state_garbage,
    _state_without_epoch,
    _state_points_outside,
    _weights_missing,
    _history_garbage,
    _tensorboard_is_a_file,
]


@pytest.mark.parametrize("damage", RESUME_CASES, ids=lambda f: f.__name__)
def test_resume_of_a_damaged_run_names_the_file(capsys, finished_run, tmp_path, damage):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    config = json.loads((run / "config.json").read_text())
    config["epochs"] = 2  # so that resuming has work to do
    (run / "config.json").write_text(json.dumps(config))
    message = damage(run)
    before = snapshot(run)
    code, _, err = facecolab(capsys, "train", "--resume", run)
    assert code == 2
    one_line_error(err, message, prefix="facecolab train: error: ")
    assert snapshot(run) == before
    assert state["epoch"] == 1
