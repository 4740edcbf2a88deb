"""The training loop on tiny bundled samples: run-folder artefacts, resume after a real kill,
MirroredStrategy over two logical CPUs, deep supervision, strategies and schedules."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from facecolab.config import ScheduleSettings, resolve_config  # noqa: E402
from facecolab.workflows.train import ScheduleCallback, select_strategy, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZE = 64
TINY_UNET = {"name": "unet", "options": {"depth": 2, "base_filters": 4}}
RUN_FILES = (
    "config.json",
    "model_best.keras",
    "model_final.keras",
    "history.csv",
    "metrics.json",
    "curves.png",
)
CHECKPOINT_FILES = ("state.json", "model-0003.weights.h5", "optimizer-0003.npz")


def tiny_config(prepared_dir, **changes) -> dict:
    raw = {
        "name": "tiny",
        "data": {
            "dataset": "celebamask_hq",
            "prepared": str(prepared_dir),
            "image_size": [SIZE, SIZE],
        },
        "model": TINY_UNET,
        "augment": {"hflip": True},
        "loss": {"ce": 1.0, "dice": 1.0},
        "callbacks": {"monitor": "val_mean_iou", "tensorboard": False},
        "batch_size": 4,
        "epochs": 2,
        "reference": {"source": "a seed", "metrics": {"pixel_accuracy": 0.9}},
    }
    return resolve_config(raw | changes, source="tiny")


def history_epochs(run_dir: Path) -> list[int]:
    with (run_dir / "history.csv").open(newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def state(run_dir: Path) -> dict | None:
    path = run_dir / "checkpoint" / "state.json"
    return json.loads(path.read_text()) if path.exists() else None


def facecolab_command(*args) -> list[str]:
    return [sys.executable, "-m", "facecolab", *args]


def subprocess_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_tiny_run_writes_every_artefact(celebamask_prepared, tmp_path):
    schedule = {"name": "cosine", "warmup_epochs": 1, "min_learning_rate": 0.001}
    config = tiny_config(
        celebamask_prepared,
        epochs=3,
        schedule=schedule,
        optimizer={"name": "adam", "learning_rate": 0.01},
    )
    run_dir = tmp_path / "run"
    metrics = train(config, run_dir, verbose=0)

    for name in RUN_FILES:
        assert (run_dir / name).stat().st_size > 0, name
    assert sorted(p.name for p in (run_dir / "checkpoint").iterdir()) == sorted(CHECKPOINT_FILES)
    assert json.loads((run_dir / "config.json").read_text()) == config
    assert history_epochs(run_dir) == [0, 1, 2]
    with open(run_dir / "history.csv") as handle:  # both metrics, read from one matrix
        rows = list(csv.DictReader(handle))
    for split in ("", "val_"):
        accuracy = [float(row[f"{split}pixel_accuracy"]) for row in rows]
        mean_iou = [float(row[f"{split}mean_iou"]) for row in rows]
        assert all(0.0 < a <= 1.0 for a in accuracy) and all(0.0 < m <= 1.0 for m in mean_iou)
        assert accuracy != mean_iou  # two reductions of the matrix, not one value twice
    final_state = state(run_dir)
    assert final_state["epoch"] == 3
    # epoch 2 of 3 after one warm-up epoch: halfway down the cosine from 0.01 to 0.001
    assert final_state["learning_rate"] == pytest.approx(0.0055, rel=1e-5)

    written = json.loads((run_dir / "metrics.json").read_text())
    assert written["split"] == "val" and written["reference"] == config["reference"]
    assert written["pixel_accuracy"] == metrics["pixel_accuracy"]
    assert 0.0 <= written["pixel_accuracy"] <= 1.0
    val_count = len((celebamask_prepared / "splits" / "val.txt").read_text().split())
    assert np.asarray(written["confusion_matrix"]).sum() == val_count * SIZE * SIZE

    best = keras.saving.load_model(run_dir / "model_best.keras", safe_mode=True)
    probabilities = best.predict(np.zeros((1, SIZE, SIZE, 3), np.float32), verbose=0)
    assert probabilities.shape == (1, SIZE, SIZE, 19)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-4)

    with pytest.raises(FileExistsError, match="--resume"):
        train(config, run_dir, verbose=0)
    train({}, run_dir, resume=True, verbose=0)  # already finished: no epoch runs again
    assert history_epochs(run_dir) == [0, 1, 2]


def test_resume_needs_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        train({}, tmp_path / "empty", resume=True)


@pytest.mark.slow
def test_resume_after_sigkill_ends_with_one_row_per_epoch(celebamask_prepared, tmp_path):
    epochs = 6
    config = tiny_config(celebamask_prepared, epochs=epochs, batch_size=2)
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(config))
    run_dir = tmp_path / "run"
    command = facecolab_command(
        "train", "--config", str(config_path), "--run-dir", str(run_dir), "--strategy", "one"
    )
    process = subprocess.Popen(
        command, cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while (state(run_dir) or {}).get("epoch", 0) < 1:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no epoch finished in 300 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    killed_at = state(run_dir)["epoch"]
    assert 1 <= killed_at < epochs, "the run ended before it could be killed"
    before = (run_dir / "history.csv").read_text().splitlines()

    resumed = subprocess.run(
        facecolab_command("train", "--resume", str(run_dir), "--strategy", "one"),
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    assert history_epochs(run_dir) == list(range(epochs))
    assert state(run_dir)["epoch"] == epochs
    after = (run_dir / "history.csv").read_text().splitlines()
    assert after[: killed_at + 1] == before[: killed_at + 1], "finished epochs were redone"
    for name in RUN_FILES:
        assert (run_dir / name).exists(), name


MIRRORED_SCRIPT = """
import json, sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np

from facecolab.measures.losses import build_loss
from facecolab.models import build_model
from facecolab.workflows.train import select_strategy, train

config = json.loads(sys.argv[1])
strategy = select_strategy("mirrored")
replicas = strategy.num_replicas_in_sync

# The loss Keras reports across replicas must equal the loss of the whole batch.
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
y = np.random.default_rng(1).integers(0, 3, (4, 32, 32))
with strategy.scope():
    model = build_model("unet", (32, 32, 3), 3, depth=2, base_filters=4)
    model.compile(loss=build_loss("dice+ce"), jit_compile=False)
mirrored_loss = model.evaluate(x, y, batch_size=4, verbose=0)
direct_loss = float(np.asarray(build_loss("dice+ce")(y, model.predict(x, verbose=0))))

metrics = train(config, sys.argv[2], strategy="mirrored", verbose=0)
print(json.dumps({"replicas": replicas, "pixel_accuracy": metrics["pixel_accuracy"],
                  "mirrored_loss": mirrored_loss, "direct_loss": direct_loss}))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(celebamask_prepared, tmp_path):
    config = tiny_config(celebamask_prepared, epochs=1, batch_size=2)
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, json.dumps(config), str(run_dir)],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["mirrored_loss"] == pytest.approx(report["direct_loss"], rel=0.05)
    assert 0.0 <= report["pixel_accuracy"] <= 1.0
    assert history_epochs(run_dir) == [0]
    with (run_dir / "history.csv").open(newline="") as handle:
        assert math.isfinite(float(next(csv.DictReader(handle))["loss"]))
    assert state(run_dir)["epoch"] == 1


@pytest.mark.slow
def test_deep_supervision_model_trains(celebamask_prepared, tmp_path):
    model = {
        "name": "mobilenetv2_unet",
        "options": {
            "alpha": 0.35,
            "deep_supervision": True,
            "decoder_filters": [16, 16, 8, 8],
            "final_filters": 8,
        },
    }
    # Keras names a multi-output model's metrics after its first output; the trainer maps
    # the config's plain "val_mean_iou" onto that name, so the best checkpoint is written.
    callbacks = {"tensorboard": False, "monitor": "val_mean_iou"}
    config = tiny_config(celebamask_prepared, model=model, epochs=1, callbacks=callbacks)
    run_dir = tmp_path / "run"
    metrics = train(config, run_dir, verbose=0)
    assert 0.0 <= metrics["pixel_accuracy"] <= 1.0
    with (run_dir / "history.csv").open(newline="") as handle:
        row = next(csv.DictReader(handle))
    loss_columns = [name for name in row if name.endswith("_loss") and not name.startswith("val")]
    assert len(loss_columns) == 5, "one loss per output"
    assert any(name.endswith("_mean_iou") and name != "mean_iou" for name in row)
    best = keras.saving.load_model(run_dir / "model_best.keras")
    assert len(best.outputs) == 5


def test_select_strategy():
    import tensorflow as tf

    one = select_strategy("one")
    assert one is tf.distribute.get_strategy() and one.num_replicas_in_sync == 1
    assert select_strategy("auto").num_replicas_in_sync >= 1
    with pytest.raises(ValueError, match="strategy must be"):
        select_strategy("several")
    if not tf.config.list_logical_devices("TPU"):
        with pytest.raises(RuntimeError, match="no TPU"):
            select_strategy("tpu")


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # base 0.1 over 5 epochs; warm-up epochs ramp (e + 1) / (warmup + 1)
        ({"name": "constant", "warmup_epochs": 0}, [0.1] * 5),
        ({"name": "constant", "warmup_epochs": 2}, [0.1 / 3, 0.2 / 3, 0.1, 0.1, 0.1]),
        # cosine after one warm-up epoch: progress 0, 1/4, 1/2, 3/4 of the remaining 4 epochs
        (
            {"name": "cosine", "warmup_epochs": 1, "min_learning_rate": 0.0},
            [0.05, 0.1, 0.1 * (1 + math.sqrt(0.5)) / 2, 0.05, 0.1 * (1 - math.sqrt(0.5)) / 2],
        ),
        (
            {"name": "cosine", "warmup_epochs": 0, "min_learning_rate": 0.01},
            [0.01 + 0.09 * (1 + math.cos(math.pi * epoch / 5)) / 2 for epoch in range(5)],
        ),
    ],
)
def test_schedule_learning_rates(schedule, expected):
    callback = ScheduleCallback(ScheduleSettings(**schedule), base_lr=0.1, epochs=5)
    rates = [callback.learning_rate(epoch) for epoch in range(5)]
    assert rates == pytest.approx(expected, rel=1e-9)
    if schedule["name"] == "cosine":
        floor = schedule["min_learning_rate"]
        after_warmup = rates[schedule["warmup_epochs"] :]
        assert all(a > b for a, b in zip(after_warmup, after_warmup[1:], strict=False))
        assert min(rates) > floor


def test_time_limit_stops_before_an_epoch_would_overrun(monkeypatch):
    from facecolab.workflows.train import TimeLimit

    clock = iter([0.0, 40.0, 80.0, 130.0])  # train begins, then the end of each epoch
    monkeypatch.setattr("facecolab.workflows.train.time.monotonic", lambda: next(clock))
    limit = TimeLimit(minutes=2.5)  # 150 s
    limit.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    limit.model.stop_training = False
    limit.on_train_begin()
    stops = []
    for epoch in range(3):
        limit.on_epoch_end(epoch)
        stops.append(limit.model.stop_training)
    # after 40 s and 80 s another 40 s epoch fits in 150 s; after 130 s (43 s each) it does not
    assert stops == [False, False, True]


@pytest.mark.parametrize("setting", [True, False])
def test_precision_policy_is_restored(setting):
    from facecolab.workflows.train import precision_policy

    before = keras.config.dtype_policy().name
    with precision_policy(setting):
        inside = keras.config.dtype_policy().name
    assert keras.config.dtype_policy().name == before == "float32"
    assert inside == ("mixed_float16" if setting else "float32")


def test_initial_weights_come_from_a_model_of_the_same_architecture(tmp_path):
    from facecolab.models import build_model
    from facecolab.workflows.train import load_initial_weights

    options = {"depth": 1, "base_filters": 2}
    donor = build_model("unet", (32, 32, 3), 3, **options)
    donor.save(tmp_path / "donor.keras")
    model = build_model("unet", (32, 32, 3), 3, **options)
    load_initial_weights(model, str(tmp_path / "donor.keras"))
    for mine, theirs in zip(model.get_weights(), donor.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    wider = build_model("unet", (32, 32, 3), 3, depth=1, base_filters=4)
    with pytest.raises(ValueError, match=r"donor\.keras.*do not fit"):
        load_initial_weights(wider, str(tmp_path / "donor.keras"))


JAX_PARALLEL_SCRIPT = """
import json, sys
import jax, keras
from facecolab.workflows.train import replicas_of, select_strategy, train

strategy = select_strategy("auto")
metrics = train(json.loads(sys.argv[1]), sys.argv[2], strategy="auto", verbose=0)
print(json.dumps({"devices": len(jax.devices()), "replicas": replicas_of(strategy),
                  "kind": type(strategy).__name__, "pixel_accuracy": metrics["pixel_accuracy"]}))
"""


@pytest.mark.slow
def test_jax_data_parallel_on_two_cpu_devices(celebamask_prepared, tmp_path):
    config = tiny_config(celebamask_prepared, epochs=1, batch_size=2)
    config["data"]["pipeline"] = "device"
    env = {
        **subprocess_env(),
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", JAX_PARALLEL_SCRIPT, json.dumps(config), str(run_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert report == report | {"devices": 2, "replicas": 2, "kind": "DataParallel"}
    assert 0.0 <= report["pixel_accuracy"] <= 1.0
    assert history_epochs(run_dir) == [0]
    assert state(run_dir)["epoch"] == 1


def test_checkpoints_by_wall_time(celebamask_prepared, tmp_path):
    """With a long checkpoint interval the first epoch and the last are written, not those
    between; the history still has every epoch."""
    callbacks = {"tensorboard": False, "monitor": "val_mean_iou", "checkpoint_seconds": 3600}
    config = tiny_config(celebamask_prepared, epochs=3, callbacks=callbacks)
    run_dir = tmp_path / "run"
    train(config, run_dir, verbose=0)
    assert history_epochs(run_dir) == [0, 1, 2]
    assert state(run_dir)["epoch"] == 3
