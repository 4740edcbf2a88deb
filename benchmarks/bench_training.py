"""Achieved training speed against the model-only floor, per registry model.

For each ``facecolab.models`` registry name, the first shipped config that trains it (its
image size, batch, augmentation, loss, ``data.pipeline``; a model no config trains gets 256²,
batch 8, the celebamask_hq sample) is trained on its dataset's procedural sample
(``facecolab.data.sample``), built exactly as training builds it
(``workflows.train.build_training_model``, random encoder weights: the same cost) and timed:

* **achieved**: a timed epoch of ``--steps`` steps of ``fit`` on the real pipeline
  (``workflows.train.make_training_data``), after an untimed one (tracing, compilation);
* **floor**: the same ``fit`` on the same ``--steps`` batches already computed and held on
  the device, served again every epoch (no input work at all; ``precomputed``);
* the two are timed alternately ``--rounds`` times and each keeps its fastest epoch, so a
  burst of load on a shared machine lands in one round, not in the ratio;
* **input wait fraction**: ``1 − floor / achieved``, the share of step time not spent in
  the model's step (input work, or the accelerator waiting for it).

``seconds_per_epoch`` is for the benchmark's epoch (``steps`` × ``batch`` images); images/s
carries over to any epoch length. Validation is left out (it is the same on every path)::

    python benchmarks/bench_training.py --quick --json benchmarks/results/training_cpu.json
    KERAS_BACKEND=jax python benchmarks/bench_training.py --pipeline device --json gpu.json

``--quick`` (a 2-core CPU in minutes): 64² images, batch 4, 8 steps, 3 rounds, the configs'
builders.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _report import load_average  # noqa: E402

from facecolab.config import TrainingConfig, load_config, resolve_config  # noqa: E402

QUICK = {"size": 64, "batch": 4, "steps": 8, "rounds": 3}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and steps (CPU)")
    parser.add_argument("--models", nargs="*", help="registry names (default: all)")
    parser.add_argument("--steps", type=int, help="timed steps per epoch (default 20; quick 8)")
    parser.add_argument("--rounds", type=int, help="alternate timings kept at best (default 3)")
    parser.add_argument("--size", type=int, help="image side for every model (default: config)")
    parser.add_argument("--batch", type=int, help="batch size (default: config; quick 4)")
    parser.add_argument("--pipeline", default=None, help="data.pipeline (default: the config's)")
    parser.add_argument("--json", type=Path, help="write one record per model to this file")
    return parser


def config_for(model: str) -> dict:
    """The first shipped config training ``model`` (a resolved dict), else a default one."""
    for path in sorted((REPO / "configs").glob("p*.json")):
        config = load_config(path)
        if config["model"]["name"] == model:
            return config
    data = {"dataset": "celebamask_hq", "root": "-"}
    raw = {"name": model, "data": data, "model": {"name": model}}
    return resolve_config(raw, source=model)


def sample_folder(config: dict, size: list[int], work: Path) -> Path:
    """The config's dataset sample, prepared at ``size`` (cached per dataset and relabel)."""
    from facecolab.data.prepare import PrepareOptions, prepare
    from facecolab.data.sample import write_sample

    data = config["data"]
    key = f"{data['dataset']}-{data.get('relabel')}-{size[0]}x{size[1]}"
    folder = work / key / "prepared"
    if not (folder / "dataset.json").exists():
        raw = write_sample(data["dataset"], work / key / "raw", count=24, size=max(size), seed=0)
        options = PrepareOptions(size=tuple(size), aspect=data["aspect"], relabel=data["relabel"])
        prepare(data["dataset"], raw, folder, options, workers=1, progress=False)
    return folder


class EpochTimer:
    """A Keras callback recording each epoch's wall seconds."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.start)

        return _Timer()


def time_fit(model, data, steps: int) -> float:
    """Seconds of the second of two ``steps``-step epochs of ``fit`` on ``data``."""
    timer = EpochTimer()
    model.fit(data, epochs=2, steps_per_epoch=steps, callbacks=[timer], verbose=0, shuffle=False)
    return timer.seconds[-1]


def best_times(model, pipelines: dict, steps: int, rounds: int) -> dict:
    """``{name: fastest epoch seconds}`` of each of ``pipelines``, timed in turn ``rounds``
    times (alternating, so slow spells of a shared machine hit both alike)."""
    times = {name: [] for name in pipelines}
    for _ in range(rounds):
        for name, data in pipelines.items():
            times[name].append(time_fit(model, data, steps))
    return {name: min(seconds) for name, seconds in times.items()}


def bench_model(name: str, args, work: Path) -> dict:
    import keras

    from facecolab.data.prepare import dataset_spec
    from facecolab.workflows.train import (
        build_training_model,
        choose_pipeline,
        make_training_data,
        on_accelerator,
        precision_policy,
    )

    config = config_for(name)
    size = [args.size] * 2 if args.size else config["data"]["image_size"]
    batch = args.batch or config["batch_size"]
    if args.quick:
        size, batch = [QUICK["size"]] * 2, args.batch or QUICK["batch"]
    config["data"]["image_size"] = list(size)
    config["batch_size"] = batch
    if args.pipeline:
        config["data"]["pipeline"] = args.pipeline
    options = config["model"]["options"]
    if "encoder_weights" in options:
        options["encoder_weights"] = None
    folder = sample_folder(config, size, work)
    config["data"]["prepared"] = str(folder)
    config["data"]["prepared_size"] = None
    settings = TrainingConfig.from_dict(config)
    steps = args.steps or (QUICK["steps"] if args.quick else 20)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    with precision_policy(settings.mixed_precision):
        model = build_training_model(settings, dataset_spec(folder).num_classes)
        outputs = len(model.outputs)
        train, _ = make_training_data(settings, folder, batch, outputs, 0)
        pipelines = {"achieved": endless(train), "floor": precomputed(train, steps)}
        rounds = args.rounds or (QUICK["rounds"] if args.quick else 3)
        times = best_times(model, pipelines, steps, rounds)
    achieved, floor = times["achieved"], times["floor"]
    return {
        "model": name,
        "config": config["name"],
        "backend": keras.backend.backend(),
        "device": "accelerator" if on_accelerator() else "cpu",
        "pipeline": choose_pipeline(settings.data.pipeline),
        "image_size": list(size),
        "batch_size": batch,
        "steps": steps,
        "rounds": rounds,
        "seconds_per_epoch": achieved,
        "images_per_second": steps * batch / achieved,
        "floor_seconds_per_epoch": floor,
        "floor_ratio": achieved / floor,
        "input_wait_fraction": max(0.0, 1.0 - floor / achieved),
        "mixed_precision": keras.config.dtype_policy().name,
    }


def cycled(batch, count: int, **workers):
    """A ``PyDataset`` that never runs out: step ``i`` serves ``batch(i % count)``."""
    import keras

    class _Cycled(keras.utils.PyDataset):
        def __len__(self):
            return 1_000_000

        def __getitem__(self, index):
            return batch(index % count)

    return _Cycled(**workers)


def endless(train):
    """``train`` never running out within an epoch of any length: ``repeat()`` for ``tf.data``,
    its batches cycled (same workers) for a ``PyDataset``."""
    if not hasattr(train, "__getitem__"):
        return train.repeat()
    workers = {k: getattr(train, k) for k in ("workers", "use_multiprocessing", "max_queue_size")}
    return cycled(train.__getitem__, train.num_batches, **workers)


def precomputed(train, steps: int):
    """The first ``steps`` batches of ``train`` held in memory, served again every epoch:
    the same ``fit`` with no input work left (``tf.data``: ``take(steps).cache().repeat()``,
    filled in the untimed epoch; a ``PyDataset``: its batches converted to device tensors).

    Real batches, not one batch repeated: on TensorFlow's CPU kernels one repeated batch ran
    7-12 % slower than the real pipeline (content-dependent kernel time), which would hide
    the input wait it is there to show."""
    import keras

    if not hasattr(train, "__getitem__"):
        return train.take(steps).cache().repeat()
    count = min(steps, train.num_batches)
    held = [keras.tree.map_structure(keras.ops.convert_to_tensor, train[i]) for i in range(count)]
    return cycled(held.__getitem__, count)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from facecolab.models import MODELS

    names = args.models or list(MODELS)
    records, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-training-") as work:
        for name in names:
            try:
                record = bench_model(name, args, Path(work))
            except (ImportError, ValueError) as error:  # an optional package; a size misfit
                print(f"{name}: skipped ({str(error).splitlines()[0]})", file=sys.stderr)
                continue
            records.append(record)
            print(f"{name}: {record['seconds_per_epoch']:.2f} s/epoch", file=sys.stderr)
    columns = (
        "model", "pipeline", "image_size", "batch_size", "seconds_per_epoch",
        "images_per_second", "floor_seconds_per_epoch", "floor_ratio", "input_wait_fraction",
    )  # fmt: skip
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for record in records:
        print("| " + " | ".join(_cell(record[c]) for c in columns) + " |")
    print(f"\nload average {load_average()}; {time.perf_counter() - started:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return 0


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
