"""The one training loop shared by every project.

``train(config, run_dir)`` prepares the data if needed, builds the model under a
distribution strategy, and fits with checkpoints that make any interruption resumable:
after the first epoch, then at the end of an epoch once ``callbacks.checkpoint_seconds`` have
passed since the last one, and at the end of training, the weights, optimiser state and
callback state are written atomically to ``RUN/checkpoint/``; ``train(..., resume=True)``
continues from the last one (epochs after it are redone) and ends with the same epoch count.
A run folder holds::

    config.json          the resolved config
    model_best.keras     best epoch by callbacks.monitor
    model_final.keras    last epoch
    history.csv          one row per epoch
    metrics.json         confusion-matrix metrics of the best model on the val split
    curves.png           loss / metric curves
    checkpoint/          resume state
    tensorboard/
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.util
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from facecolab.config import OptimizerSettings, ScheduleSettings, TrainingConfig, resolve_config
from facecolab.constants import STRATEGIES
from facecolab.data.device_pipeline import DeviceBatches
from facecolab.data.host_pipeline import PreparedBatches
from facecolab.data.labels import label_set_name
from facecolab.data.prepare import (
    PrepareOptions,
    dataset_spec,
    prepare,
    read_dataset_info,
    split_files,
)
from facecolab.data.specs import get_spec
from facecolab.fsutil import atomic_write_bytes, contained, output_folder, read_json
from facecolab.measures.keras_metrics import training_metrics
from facecolab.measures.losses import build_loss
from facecolab.modelfiles.compat import check_model_classes, check_prepared_dataset
from facecolab.modelfiles.load import load_model_any, load_pretrained, open_model
from facecolab.modelfiles.manifest import read_manifest
from facecolab.modelfiles.runner import TFLITE_SUFFIX, load_runner
from facecolab.modelfiles.save import atomic_save_npz, save_model_atomic, save_weights_atomic
from facecolab.models import build_model
from facecolab.viz import plot_history
from facecolab.workflows.divergence import NonFiniteGuard
from facecolab.workflows.evaluate import evaluate_prepared

CHECKPOINT = "checkpoint"
PIPELINES = ("auto", "tf", "host", "device")


def prepared_path(config: dict | TrainingConfig) -> Path:
    """Where a config's prepared folder is (``data.prepared``, default
    ``data/<dataset>_<H>x<W>`` at ``data.prepared_size`` or ``image_size``), prepared or not."""
    data = TrainingConfig.of(config).data
    size = data.prepared_size or data.image_size
    return Path(data.prepared or f"data/{data.dataset}_{size[0]}x{size[1]}")


def prepared_dir(config: dict | TrainingConfig) -> Path:
    """The prepared folder of a config (a resolved dict or its typed view), preparing it from
    ``data.root`` when missing (at ``data.prepared_size``, default the training
    ``image_size``: prepare once at full resolution and batches are resized to
    ``image_size`` as they are read)."""
    settings = TrainingConfig.of(config)
    data = settings.data
    size = data.prepared_size or data.image_size
    folder = prepared_path(settings)
    if not (folder / "dataset.json").exists():
        if not data.root:
            raise FileNotFoundError(f"{folder}: not prepared and data.root is not set")
        options = PrepareOptions(
            size=size,
            aspect=data.aspect,
            seed=settings.seed,
            format_options=data.format_options,
            relabel=data.relabel,
        )
        prepare(data.dataset, data.root, folder, options)
    return folder


def on_gpu() -> bool:
    """Whether the Keras backend computes on a GPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def on_accelerator() -> bool:
    """Whether the Keras backend computes on a GPU or TPU (JAX and TensorFlow see TPUs)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend() in ("gpu", "tpu")
    return on_gpu()


def select_strategy(name: str = "auto"):
    """A ``tf.distribute`` strategy on TensorFlow; on JAX a
    ``keras.distribution.DataParallel`` over the devices (``None`` with one device, or
    ``one``); ``None`` on PyTorch. :func:`distribution_scope` applies either.

    ``auto``: TPU if one resolves, MirroredStrategy over several GPUs, else the default (JAX:
    data parallel over all devices when there are several). ``one``: the default strategy;
    ``mirrored``: all visible GPUs (or CPUs; JAX: all devices); ``tpu``.
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {name!r}")
    if keras.backend.backend() == "jax" and name in ("auto", "mirrored"):
        devices = keras.distribution.list_devices()
        if len(devices) > 1 or name == "mirrored":
            return keras.distribution.DataParallel(devices=devices)
        return None
    if keras.backend.backend() != "tensorflow":
        if name not in ("auto", "one"):
            raise ValueError(f"strategy {name!r} needs the TensorFlow or JAX backend")
        return None
    import tensorflow as tf

    if name in ("auto", "tpu"):
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError, tf.errors.NotFoundError):
            if name == "tpu":
                raise RuntimeError("strategy 'tpu' asked for, but no TPU was found") from None
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def replicas_of(distribution) -> int:
    """Devices a strategy of :func:`select_strategy` splits each batch over."""
    if distribution is None:
        return 1
    if isinstance(distribution, keras.distribution.DataParallel):
        return len(distribution.device_mesh.devices.reshape(-1))
    return distribution.num_replicas_in_sync


@contextlib.contextmanager
def distribution_scope(distribution):
    """Within the block, models are built under ``distribution``: a ``tf.distribute``
    strategy's scope, or Keras' global distribution set to a JAX ``DataParallel`` and
    restored after."""
    if distribution is None:
        yield
    elif isinstance(distribution, keras.distribution.DataParallel):
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(distribution)
        try:
            yield
        finally:
            keras.distribution.set_distribution(previous)
    else:
        with distribution.scope():
            yield


@contextlib.contextmanager
def precision_policy(setting):
    """Within the block, Keras' global dtype policy for ``setting`` (config
    ``mixed_precision``: ``"auto"`` = mixed on a GPU); the previous policy is restored after,
    so a second training in the same process starts clean. Mixed precision is float16 on
    TensorFlow (with loss scaling) and bfloat16 on the other backends."""
    previous = keras.config.dtype_policy()
    if setting is True or (setting == "auto" and on_gpu()):
        mixed = "mixed_float16" if keras.backend.backend() == "tensorflow" else "mixed_bfloat16"
        keras.config.set_dtype_policy(mixed)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def make_optimizer(settings: OptimizerSettings) -> keras.optimizers.Optimizer:
    name = settings.name.lower()
    common = {"learning_rate": settings.learning_rate}
    if settings.clipnorm:
        common["clipnorm"] = settings.clipnorm
    if name == "adam":
        return keras.optimizers.Adam(**common)
    if name == "adamw":
        return keras.optimizers.AdamW(weight_decay=settings.weight_decay or 1e-4, **common)
    if name == "sgd":
        return keras.optimizers.SGD(
            momentum=settings.momentum, nesterov=settings.nesterov, **common
        )
    raise ValueError(f"optimizer.name must be adam, adamw or sgd; got {settings.name!r}")


class ScheduleCallback(keras.callbacks.Callback):
    """Per-epoch learning rate: linear warm-up, then constant or cosine decay.

    Kept as a callback (not a LearningRateSchedule) so ReduceLROnPlateau and resume can set
    the same variable.
    """

    def __init__(self, schedule: ScheduleSettings, base_lr: float, epochs: int):
        super().__init__()
        self.schedule, self.base_lr, self.epochs = schedule, base_lr, epochs

    def learning_rate(self, epoch: int) -> float:
        warmup = self.schedule.warmup_epochs
        if epoch < warmup:
            return self.base_lr * (epoch + 1) / (warmup + 1)
        if self.schedule.name == "cosine":
            floor = self.schedule.min_learning_rate
            progress = (epoch - warmup) / max(1, self.epochs - warmup)
            return floor + (self.base_lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        return self.base_lr

    def on_epoch_begin(self, epoch, logs=None):
        if self.schedule.name != "constant" or self.schedule.warmup_epochs:
            self.model.optimizer.learning_rate.assign(self.learning_rate(epoch))


class TimeLimit(keras.callbacks.Callback):
    """Stops training after the epoch past which the next one would overrun ``minutes``
    (a Colab session, a lent machine): what was trained is checkpointed as usual, and
    ``--resume`` continues to the configured epoch count."""

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds = float(minutes) * 60

    def on_train_begin(self, logs=None):
        self.start, self.epochs_run = time.monotonic(), 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run += 1
        elapsed = time.monotonic() - self.start
        if elapsed * (self.epochs_run + 1) / self.epochs_run > self.seconds:
            print(
                f"time limit: stopping after epoch {epoch + 1} ({elapsed / 60:.1f} of "
                f"{self.seconds / 60:g} min); continue with --resume"
            )
            self.model.stop_training = True


class ResumableCheckpoint(keras.callbacks.Callback):
    """Writes the resume state by wall time and the best model when the monitor improves.

    The state is written after the first epoch, after any later epoch that ends ``seconds``
    or more after the last write (0: every epoch; a checkpoint costs a host copy of every
    variable, which a fast accelerator would otherwise wait on each epoch), and when training
    ends between epochs (the last epoch, early stopping, the time limit) — not when a
    non-finite guard stops it inside an epoch, whose weights are not to be kept.

    State = model weights, optimiser variables, epoch, learning rate, best value and the
    counters of the plateau/early-stopping callbacks, each file written atomically and the
    state JSON last, so a kill at any instant leaves the previous whole checkpoint.
    """

    def __init__(
        self,
        run_dir: Path,
        monitor: str,
        stateful_callbacks: dict,
        state=None,
        seconds: float = 0.0,
    ):
        super().__init__()
        self.seconds = float(seconds)
        self.last_write: float | None = None  # monotonic time of this run's last write
        self.unsaved: int | None = None  # a finished epoch not yet written
        self.in_epoch = False
        self.run_dir = run_dir
        self.folder = run_dir / CHECKPOINT
        self.monitor = monitor
        self.mode = "max" if any(k in monitor for k in ("acc", "iou", "f1")) else "min"
        self.stateful = stateful_callbacks
        self.best = (state or {}).get("best")
        self.restore_state = state

    def improved(self, value) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_train_begin(self, logs=None):
        # Runs after the stateful callbacks' own resets (it is last in the list).
        for name, callback in self.stateful.items():
            for attr, value in ((self.restore_state or {}).get(name) or {}).items():
                setattr(callback, attr, value)
        self.last_write, self.unsaved, self.in_epoch = None, None, False

    def on_epoch_begin(self, epoch, logs=None):
        self.in_epoch = True

    def on_epoch_end(self, epoch, logs=None):
        self.in_epoch = False
        logs = logs or {}
        value = logs.get(self.monitor)
        if self.improved(value):
            self.best = float(value)
            save_model_atomic(self.model, self.run_dir / "model_best.keras")
        due = self.last_write is None or time.monotonic() - self.last_write >= self.seconds
        if due or epoch + 1 >= (self.params or {}).get("epochs", epoch + 1):
            self.write(epoch)
        else:
            self.unsaved = epoch

    def on_train_end(self, logs=None):
        if self.unsaved is not None and not self.in_epoch:
            self.write(self.unsaved)

    def write(self, epoch: int) -> None:
        """The resume state of the finished ``epoch`` (0-based), written atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # Epoch-stamped files, then the state naming them: until state.json is replaced it
        # still names the previous epoch's files, which are removed only after that.
        weights = self.folder / f"model-{epoch + 1:04d}.weights.h5"
        optimizer = self.folder / f"optimizer-{epoch + 1:04d}.npz"
        save_weights_atomic(self.model, weights)
        atomic_save_npz(optimizer, [np.asarray(v) for v in self.model.optimizer.variables])
        state = {
            "epoch": epoch + 1,
            "weights": weights.name,
            "optimizer": optimizer.name,
            "best": self.best,
            "learning_rate": float(np.asarray(self.model.optimizer.learning_rate)),
            **{name: _callback_state(cb) for name, cb in self.stateful.items()},
        }
        atomic_write_bytes(self.folder / "state.json", json.dumps(state, indent=2).encode())
        for stale in (*self.folder.glob("model-*.weights.h5"), *self.folder.glob("optimizer-*")):
            if stale not in (weights, optimizer):
                stale.unlink()
        self.last_write, self.unsaved = time.monotonic(), None


def _callback_state(callback) -> dict:
    keys = ("wait", "best", "cooldown_counter", "stopped_epoch", "best_epoch")
    return {k: _plain(getattr(callback, k)) for k in keys if hasattr(callback, k)}


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def restore_checkpoint(model: keras.Model, folder: Path, state: dict) -> None:
    """Load the weights, optimiser variables and learning rate written by
    :class:`ResumableCheckpoint` into a freshly compiled ``model``; a checkpoint that does
    not load is a ``ValueError`` naming its folder."""
    try:
        # The optimiser is built first, so the weights file's optimiser variables (which
        # ``save_weights`` writes with the model's) have variables to load into; an unbuilt
        # optimiser has none, and Keras skips them with a warning.
        model.optimizer.build(model.trainable_variables)
        model.load_weights(contained(folder, state["weights"], "checkpoint weights"))
        saved = np.load(contained(folder, state["optimizer"], "checkpoint optimizer"))
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        for variable, value in zip(model.optimizer.variables, values, strict=True):
            variable.assign(value)
        model.optimizer.learning_rate.assign(state["learning_rate"])
    except Exception as error:
        raise ValueError(
            f"{folder}: the checkpoint cannot be restored ({type(error).__name__}: {error}); "
            "delete the run folder to start again"
        ) from error


def read_state(run_dir: Path) -> dict | None:
    path = run_dir / CHECKPOINT / "state.json"
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
        if not isinstance(state["epoch"], int) or state["epoch"] < 0:
            raise ValueError(f"epoch {state['epoch']!r}")
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: damaged resume state ({error})") from None
    return state


def _truncate_history(path: Path, epochs_done: int) -> None:
    """Drop CSV rows of epochs whose checkpoint was not written before an interruption."""
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    if any(r and not r[0].isdigit() for r in rows[1:]):
        raise ValueError(f"{path}: damaged history (a row without an epoch number)")
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < epochs_done]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def resolve_monitor(model: keras.Model, monitor: str) -> str:
    """The log name of ``monitor`` for ``model``: with several outputs (deep supervision)
    Keras prefixes metric names with the output's name, e.g. ``val_head_softmax_mean_iou``;
    the total loss keeps its plain name."""
    metric = monitor.removeprefix("val_")
    if len(model.outputs) == 1 or metric == "loss":
        return monitor
    return f"{monitor[: len(monitor) - len(metric)]}{model.output_names[0]}_{metric}"


def build_training_model(config: dict | TrainingConfig, num_classes: int) -> keras.Model:
    """Build and compile the config's model (call inside the strategy's scope); ``config`` is
    a resolved dict or its typed view."""
    settings = TrainingConfig.of(config)
    model = build_model(
        settings.model.name,
        (*settings.data.image_size, 3),
        num_classes,
        **settings.model.options,
    )
    loss = build_loss(settings.loss)
    outputs = len(model.outputs)
    metrics = training_metrics(num_classes)  # one confusion matrix per step for both
    steps = settings.steps_per_execution if keras.backend.backend() != "torch" else 1
    model.compile(
        optimizer=make_optimizer(settings.optimizer),
        # Deep supervision: every output gets the loss, the first (full size) the metrics.
        loss=[loss] * outputs if outputs > 1 else loss,
        metrics=[metrics] + [[]] * (outputs - 1) if outputs > 1 else metrics,
        # XLA slows TensorFlow on a CPU; JAX always compiles (eager JAX is far slower).
        jit_compile="auto" if on_gpu() or keras.backend.backend() != "tensorflow" else False,
        steps_per_execution=steps,  # PyTorch's trainer has none
    )
    return model


def load_initial_weights(model: keras.Model, source: str) -> None:
    """Give ``model`` the weights of ``source`` (``model.initial_weights``: a shipped name,
    a model file or a run folder), which must be the same architecture."""
    donor = open_model(source).model
    if [tuple(w.shape) for w in donor.weights] != [tuple(w.shape) for w in model.weights]:
        raise ValueError(
            f"model.initial_weights {source!r}: its weights do not fit {model.name} as the "
            "config builds it (another architecture or other options)"
        )
    model.set_weights(donor.get_weights())


def make_callbacks(settings: TrainingConfig, run_dir: Path, model: keras.Model, state: dict | None):
    """The non-finite guard, then schedule, CSV log, the config's plateau/early-stopping
    callbacks, TensorBoard and the resumable checkpoint (last, so it sees every other
    callback's end-of-epoch state)."""
    chosen = settings.callbacks
    monitor = resolve_monitor(model, chosen.monitor)
    kinds = {
        "reduce_lr_on_plateau": keras.callbacks.ReduceLROnPlateau,
        "early_stopping": keras.callbacks.EarlyStopping,
    }
    stateful = {
        name: kind(monitor=monitor, **getattr(chosen, name))
        for name, kind in kinds.items()
        if getattr(chosen, name) is not None
    }
    schedule = ScheduleCallback(
        settings.schedule, settings.optimizer.learning_rate, settings.epochs
    )
    callbacks = [
        schedule,
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=bool(state)),
        *stateful.values(),
    ]
    if chosen.tensorboard and importlib.util.find_spec("tensorboard") is None:
        # Keras' callback would fail at the first epoch's end; say so before training.
        print("note: callbacks.tensorboard is on but the tensorboard package is not installed; "
              "no TensorBoard logs (pip install tensorboard)")  # fmt: skip
    elif chosen.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    if chosen.time_limit_minutes:
        callbacks.append(TimeLimit(chosen.time_limit_minutes))
    seconds = chosen.checkpoint_seconds
    callbacks.append(ResumableCheckpoint(run_dir, monitor, stateful, state, seconds))
    # First, so a non-finite epoch stops before any other callback records it.
    return [NonFiniteGuard(run_dir, others=callbacks), *callbacks]


def choose_pipeline(setting: str = "auto") -> str:
    """The batch pipeline ``data.pipeline`` names: ``auto`` is ``device`` on an accelerator
    (the split held and augmented there), else ``tf`` on TensorFlow and ``host`` elsewhere;
    ``tf`` needs the TensorFlow backend."""
    if setting not in PIPELINES:
        raise ValueError(f"data.pipeline must be one of {PIPELINES}; got {setting!r}")
    if setting == "auto":
        if on_accelerator():
            return "device"
        return "tf" if keras.backend.backend() == "tensorflow" else "host"
    if setting == "tf" and keras.backend.backend() != "tensorflow":
        raise ValueError('data.pipeline "tf" needs the TensorFlow backend; use "host" or "device"')
    return setting


def make_training_data(
    settings: TrainingConfig, folder: Path, batch_size: int, outputs: int, epoch: int
):
    """``(train, val)`` batches of a prepared folder, by :func:`choose_pipeline`: tf.data
    (:func:`facecolab.data.tf_pipeline.make_dataset`),
    :class:`facecolab.data.host_pipeline.PreparedBatches` or
    :class:`facecolab.data.device_pipeline.DeviceBatches` (the val split then too, unaugmented).
    With ``outputs > 1`` (deep supervision) every output takes the same labels.

    The train split is reshuffled every epoch (seeded), augmenting or not, by the data itself;
    ``fit`` is told ``shuffle=False``, as Keras ignores it for a dataset, with a warning."""
    data = settings.data
    common = {
        "batch_size": batch_size,
        "image_size": data.image_size,
        "one_hot": data.one_hot,
        "skip_bad": data.skip_bad,
    }
    augment_config = settings.augment_config
    pipeline = choose_pipeline(data.pipeline)
    if pipeline in ("device", "host"):
        batches = DeviceBatches if pipeline == "device" else PreparedBatches
        threads = {} if pipeline == "device" else {"workers": max(1, min(8, os.cpu_count() or 1))}
        train_data = batches(
            folder,
            data.train_split,
            augment_config=augment_config,
            shuffle=True,
            seed=settings.seed,
            outputs=outputs,
            epoch=epoch,
            drop_remainder=True,  # one batch shape: no second compilation of the train step
            **threads,
            **common,
        )
        val_data = batches(folder, data.val_split, outputs=outputs, **common)
        return train_data, val_data
    from facecolab.data.tf_pipeline import make_dataset

    train_data = make_dataset(
        folder,
        data.train_split,
        augment_config=augment_config,
        shuffle=True,
        seed=settings.seed,
        cache=data.cache,
        drop_remainder=batch_size > settings.batch_size,  # replicas need equal batches
        **common,
    )
    val_data = make_dataset(folder, data.val_split, cache=data.cache, **common)
    if outputs > 1:
        train_data = train_data.map(lambda x, y: (x, (y,) * outputs))
        val_data = val_data.map(lambda x, y: (x, (y,) * outputs))
    return train_data, val_data


def _finish(
    run_dir: Path, model: keras.Model, settings: TrainingConfig, folder: Path, verbose=0
) -> dict:
    """Save the final model; evaluate the best one on the val split; write the curves."""
    save_model_atomic(model, run_dir / "model_final.keras")
    best_path = run_dir / "model_best.keras"
    best = load_model_any(best_path) if best_path.exists() else model
    split = settings.data.val_split
    _say(verbose, f"evaluating {best_path.name if best_path.exists() else 'the model'} on {split}")
    metrics = evaluate_prepared(best, folder, split, settings.batch_size, progress=verbose != 0)
    metrics["split"] = split
    metrics["reference"] = settings.reference
    atomic_write_bytes(run_dir / "metrics.json", json.dumps(metrics, indent=2).encode())
    plot_history(run_dir / "history.csv", run_dir / "curves.png")
    return metrics


def _say(verbose, message: str) -> None:
    """One step of a run on stdout, beside Keras's own progress (silent at ``verbose=0``)."""
    if verbose != 0:
        print(message, flush=True)


def run_dir_for(config: dict, work_dir) -> Path:
    """``WORK/runs/<name>-<8 hex digits of the config>``: the same settings always map to
    the same folder (so a rerun resumes), different settings never share one."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    return Path(work_dir) / "runs" / f"{config['name']}-{digest}"


class PretrainedUnavailableError(RuntimeError):
    """``PRETRAINED`` was asked for and no model could be loaded; the message says what to do.
    Nothing is trained in its place."""


PRETRAINED_HELP = (
    "set MODEL_PATH to your own model file (.keras, .weights.npz or .tflite), or set "
    "PRETRAINED = False to train the config"
)


def load_pretrained_for(config: dict, name: str | None = None, model_path=None):
    """The model a notebook's ``PRETRAINED = True`` asks for, checked against the config's
    label set: ``model_path`` (a model file in any format
    ``facecolab.modelfiles.load.load_model_any``
    reads, or a ``.tflite`` file, opened as a ``facecolab.modelfiles.runner.Runner``) when given,
    else the
    shipped ``weights/manifest.json`` entry ``name`` (default: the config's name).

    A shipped model keeps its own input size (the manifest's ``input_size``): evaluation and
    prediction resize to it.

    Raises:
        PretrainedUnavailableError: the file or entry is missing, damaged, unverified, or
            predicts another label set than the config's data; one message naming it and what
            to do.
    """
    data = config["data"]
    spec = get_spec(label_set_name(data["dataset"], data.get("relabel")))
    if model_path is not None:
        what, names = f"MODEL_PATH {str(model_path)!r}", None
        loader = load_runner if Path(model_path).suffix.lower() == TFLITE_SUFFIX else load_model_any
        try:
            model = loader(model_path)
        except (OSError, ValueError) as error:
            raise PretrainedUnavailableError(
                f"PRETRAINED: cannot load {what}: {error}. Fix the path, or "
                "set MODEL_PATH = None for the shipped weights"
            ) from None
    else:
        name = name or config["name"]
        what = f"shipped weights {name!r}"
        names = (read_manifest().get(name) or {}).get("class_names")
        try:
            model = load_pretrained(name)
        except (OSError, ValueError) as error:
            raise PretrainedUnavailableError(
                f"PRETRAINED: {what} unavailable: {error}. Instead, {PRETRAINED_HELP}"
            ) from None
    try:
        check_model_classes(model, spec.class_names, f"the config's {spec.name} data", names)
    except ValueError as error:
        raise PretrainedUnavailableError(f"PRETRAINED: {what}: {error}") from None
    return model


def load_or_train(
    config: dict,
    run_dir,
    pretrained: bool = False,
    pretrained_name: str | None = None,
    model_path=None,
) -> tuple[keras.Model, Path | None]:
    """``(model, run_dir)``: with ``pretrained``, the model of :func:`load_pretrained_for`
    (``model_path``, else the shipped entry ``pretrained_name``) and ``run_dir`` ``None`` —
    never a training run; else the best model of ``config`` trained into ``run_dir``, resuming
    the run there when it holds a checkpoint (after a Colab disconnect, or to reload a
    finished run).

    Raises:
        PretrainedUnavailableError: ``pretrained`` and no usable model (the message says what
            to do); nothing is trained.
    """
    if pretrained:
        return load_pretrained_for(config, pretrained_name, model_path), None
    if model_path is not None:
        raise ValueError(f"MODEL_PATH {str(model_path)!r} is only used with PRETRAINED = True")
    run_dir = Path(run_dir)
    train(config, run_dir, resume=read_state(run_dir) is not None)
    return load_model_any(run_dir), run_dir


def train(
    config: dict, run_dir, resume: bool = False, strategy: str = "auto", verbose: int | str = "auto"
) -> dict:
    """Train ``config`` (a dict from :func:`facecolab.config.load_config`) into ``run_dir``.

    The config is validated before any work and ``run_dir`` is checked and locked for the
    whole run (``fsutil.output_folder``): a second training into it fails at once.

    Returns:
        The metrics dict also written to ``run_dir/metrics.json``.

    Raises:
        facecolab.workflows.divergence.TrainingDivergedError: a loss or weight became NaN or
        infinite; the
            last good checkpoint is kept and no final model is written.
    """
    run_dir = Path(run_dir)
    if resume:
        saved = run_dir / "config.json"
        if not saved.is_file():
            raise FileNotFoundError(f"{saved}: nothing to resume in {run_dir}")
        config = resolve_config(read_json(saved, "run config"), source=str(saved))
    else:
        config = resolve_config(config)
    settings = TrainingConfig.from_dict(config)
    subfolders = (CHECKPOINT, "tensorboard") if settings.callbacks.tensorboard else (CHECKPOINT,)
    with output_folder(run_dir, subfolders):
        return _train(settings, run_dir, resume, strategy, verbose)


def _train(settings: TrainingConfig, run_dir: Path, resume: bool, strategy: str, verbose) -> dict:
    """The steps of :func:`train`, inside its checked and locked run folder."""
    state = read_state(run_dir)
    if state and not resume:
        raise FileExistsError(f"{run_dir} already holds a run: use --resume or a new folder")
    keras.utils.set_random_seed(settings.seed)
    distribution = select_strategy(strategy)
    replicas = replicas_of(distribution)
    folder = prepared_dir(settings)
    check_prepared_dataset(settings.data.dataset, folder, read_dataset_info(folder))
    num_classes = dataset_spec(folder).num_classes
    train_images = len(split_files(folder, settings.data.train_split)[0])
    _say(verbose, f"data: {folder} ({train_images} training images, {num_classes} classes)")
    _say(verbose, f"model: {settings.model.name}, building")

    with precision_policy(settings.mixed_precision):
        with distribution_scope(distribution):
            model = build_training_model(settings, num_classes)
            if state:
                restore_checkpoint(model, run_dir / CHECKPOINT, state)
            elif settings.model.initial_weights:
                load_initial_weights(model, settings.model.initial_weights)
        initial_epoch = state["epoch"] if state else 0
        if state:
            _say(verbose, f"resuming after epoch {initial_epoch} (checkpoint in {run_dir})")
        train_data, val_data = make_training_data(
            settings, folder, settings.batch_size * replicas, len(model.outputs), initial_epoch
        )
        if not resume:  # once data (every item checked) and model fit: a refused run leaves none
            record = json.dumps(settings.to_dict(), indent=2).encode()
            atomic_write_bytes(run_dir / "config.json", record)
        if state:
            _truncate_history(run_dir / "history.csv", state["epoch"])
        stopped_early = bool(state and (state.get("early_stopping") or {}).get("stopped_epoch"))
        # JAX's data parallelism is a global Keras setting that fit and evaluation read too.
        jax_parallel = isinstance(distribution, keras.distribution.DataParallel)
        with distribution_scope(distribution if jax_parallel else None):
            if initial_epoch < settings.epochs and not stopped_early:
                _say(
                    verbose,
                    f"training epochs {initial_epoch + 1}–{settings.epochs} into {run_dir} "
                    "(the first steps compile the model; Ctrl-C stops, --resume continues)",
                )
                model.fit(
                    train_data,
                    validation_data=val_data,
                    epochs=settings.epochs,
                    initial_epoch=initial_epoch,
                    steps_per_epoch=settings.steps_per_epoch,
                    shuffle=False,  # the train batches shuffle themselves (make_training_data)
                    callbacks=make_callbacks(settings, run_dir, model, state),
                    verbose=verbose,
                )
            return _finish(run_dir, model, settings, folder, verbose)
