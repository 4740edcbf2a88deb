"""Train a list of configs one after another on one lent accelerator, each at full speed,
resumable across commands of at most 10 minutes.

Replaces ``train_all.sh`` (seven trainings time-sharing one GPU, each at a few percent of it,
and nothing resumable past one command). Each run of this script:

1. restores the previous run's state from ``--resume-from`` (what the last run left in its
   ``$OUT``, carried back): ``plan.json`` (which configs are done), the run records, and a
   ``<name>.resume.tgz`` of the config it was in the middle of;
2. trains the configs not yet done, in order, ONE at a time (``python -m facecolab train``
   in a subprocess, under the config's ``backend_hint`` when set), each told the time left
   (``callbacks.time_limit_minutes``) and checkpointing by wall time, so a config that does
   not fit continues in the next run;
3. writes to ``--out`` (at most 8 files, 2 folders deep: the lent machine's limits):
   ``records.tgz`` (``plan.json``, every run's config, history, metrics, curves and log),
   ``<name>.weights.npz`` (portable, float16) for each config finished in this run, and
   ``<name>.resume.tgz`` for the one left unfinished (its checkpoint and records; checked
   against the 16 MiB limit).

``scripts/gpu/import_runs.py`` turns the fetched files into run folders here. ``--dry-run``
trains each config on its dataset's procedural sample at 64², 2 steps a epoch, 2 epochs on the
CPU (the tests run it); ``--smoke`` takes the same tiny steps on the configs' real data (a
rehearsal of a call, on any machine). ``--check-device`` only says whether the Keras backend
of this process sees an accelerator (exit 0) or not (exit 3): ``.gpu/run.sh``, written by
``scripts/gpu/stage.py``, picks its backend with it. Without ``--dry-run``/``--smoke`` a plan
refuses to train on a machine without one (exit 3), so a lent machine's minutes are never spent
on a CPU::

    python scripts/gpu/train_plan.py --out $OUT --data .gpu/data --config-dir .gpu/configs \
        [--resume-from .gpu/plan]
    python scripts/gpu/train_plan.py --dry-run --out /tmp/plan --configs p4_unet_helen
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAN = (
    "p2_unet_celebamask_mini",
    "p4_unet_celebamask_helen",
    "p3_deeplab_celebamask_face8",
    "p3_pspnet_celebamask_face8",
    "p5_portrait_shen_mobilenetv2",
    "p5_portrait_shen_fast",
    "p1_segnet_celebamask_face",
)
RECORDS = ("config.json", "history.csv", "metrics.json", "curves.png", "train.log")
FILE_LIMIT = 16 * 2**20  # bytes per file brought back from the lent machine
MIN_SECONDS = 60  # a config is not started with less time left than this
MODE_FILE = "mode.txt"  # in records.tgz: how the plan trained
DEVICE_LOG = "device-check.log"  # run.sh's backend checks, in the work folder
CHECK = (sys.executable, str(Path(__file__).resolve()))
DRY_RUN = ("epochs=2", "steps_per_epoch=2", "batch_size=2", "callbacks.checkpoint_seconds=0")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="what comes back ($OUT)")
    parser.add_argument("--resume-from", type=Path, help="the previous run's fetched files")
    parser.add_argument("--configs", nargs="*", default=list(PLAN), help="shipped config names")
    parser.add_argument("--work", type=Path, default=Path("plan_work"), help="run folders")
    parser.add_argument("--data", type=Path, help="a bundle.py bundle to unpack into data/")
    parser.add_argument("--budget-seconds", type=float, default=540, help="this run's time")
    parser.add_argument("--stop-after", type=int, help="start at most this many configs")
    parser.add_argument("--dry-run", action="store_true", help="tiny steps on samples (CPU)")
    parser.add_argument("--smoke", action="store_true", help="tiny steps on the real data")
    parser.add_argument(
        "--config-dir", type=Path, default=REPO / "configs", help="where NAME.json are read"
    )
    parser.add_argument(
        "--check-device", action="store_true", help="only check for an accelerator (exit 0/3)"
    )
    return parser


def accelerator() -> bool:
    """Whether this process's Keras backend trains on an accelerator
    (``facecolab.workflows.train.on_accelerator``). Found, it must fit one batch of a small
    MobileNetV2 U-Net (convolutions, depthwise ones, batch norm, bilinear upsampling, Adam)
    there first, so a backend that fails on the plan's kind of model is not chosen."""
    from facecolab.workflows.train import on_accelerator

    if not on_accelerator():
        return False
    fit_one_batch()
    return True


def fit_one_batch() -> float:
    """Fit one batch of a small MobileNetV2 U-Net (the plan's kind of model) on the backend's
    device; its loss."""
    import numpy as np

    from facecolab.models import build_model

    model = build_model(
        "mobilenetv2_unet", input_shape=(64, 64, 3), num_classes=2, binary_output=False
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images, labels = np.zeros((2, 64, 64, 3), "float32"), np.zeros((2, 64, 64), "int32")
    history = model.fit(images, labels, batch_size=2, epochs=1, verbose=0)
    return float(history.history["loss"][-1])


def plan_mode(records: Path) -> str:
    """How the plan in a ``records.tgz`` trained: ``"real"``, ``"smoke"`` or ``"dry-run"``;
    ``"unrecorded"`` for records older than the mode (all of them rehearsals)."""
    with tarfile.open(records) as tar:
        names = tar.getnames()
        return tar.extractfile(MODE_FILE).read().decode() if MODE_FILE in names else "unrecorded"


def restore(previous: Path | None, work: Path, mode: str) -> dict:
    """The plan state (``{name: "done" | "partial"}``) and run folders of the last run, which
    must have trained as ``mode`` does (a rehearsal's tiny runs never pass for real ones)."""
    work.mkdir(parents=True, exist_ok=True)
    if previous is None or not (previous / "records.tgz").exists():
        return {}
    if (found := plan_mode(previous / "records.tgz")) != mode:
        raise SystemExit(
            f"{previous}: a plan of {found} runs, and this is a {mode} run: start a fresh plan "
            "(scripts/gpu/stage.py stage --fresh, or no --resume-from)"
        )
    for archive in (previous / "records.tgz", *sorted(previous.glob("*.resume.tgz"))):
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
    return json.loads((work / "plan.json").read_text())


def config_for(name: str, work: Path, dry_run: bool, config_dir: Path) -> Path:
    """The config file a run trains: ``config_dir/NAME.json``, or (dry run) the shipped one on
    its dataset's sample."""
    if not dry_run:
        return config_dir / f"{name}.json"
    from facecolab.workflows.sample_mode import project_config

    config = project_config(
        f"{name}.json", None, work / "dry_data", image_size=64, imagenet=False, sample_count=12
    )
    path = work / f"{name}.dry.json"
    path.write_text(json.dumps(config))
    return path


def train_one(name: str, config: Path, run: Path, seconds: float, tiny: bool) -> int:
    """Train (or resume) ``name`` into ``run`` for at most ``seconds`` (``tiny``: 2 epochs of
    2 steps, the config's ``backend_hint`` ignored); the exit code."""
    minutes = max(seconds - 20, 10) / 60  # the final evaluation and saving after the limit
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    hint = json.loads(config.read_text()).get("backend_hint")
    if hint and not tiny:
        env["KERAS_BACKEND"] = hint
    command = [sys.executable, "-m", "facecolab", "train"]
    if (run / "checkpoint" / "state.json").exists():
        saved = json.loads((run / "config.json").read_text())
        saved["callbacks"]["time_limit_minutes"] = minutes
        (run / "config.json").write_text(json.dumps(saved, indent=2))
        command += ["--resume", str(run)]
    else:
        overrides = [f"callbacks.time_limit_minutes={minutes:.2f}"]
        overrides += list(DRY_RUN) if tiny else []
        command += ["--config", str(config), "--run-dir", str(run), *overrides]
    run.mkdir(parents=True, exist_ok=True)
    with (run / "train.log").open("a") as log:
        try:
            return subprocess.run(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=seconds
            ).returncode
        except subprocess.TimeoutExpired:  # killed: the last wall-time checkpoint stays
            return -9


def pack(plan: dict, work: Path, out: Path, touched: list[str], mode: str) -> list[Path]:
    """Write ``out``'s files: records (with the plan's ``mode`` and ``run.sh``'s
    ``device-check.log``), weights of configs finished now, the partial one."""
    from facecolab.modelfiles.load import export_portable

    out.mkdir(parents=True, exist_ok=True)
    (work / "plan.json").write_text(json.dumps(plan, indent=2))
    (work / MODE_FILE).write_text(mode)
    written = [out / "records.tgz"]
    with tarfile.open(out / "records.tgz", "w:gz") as tar:
        tar.add(work / "plan.json", "plan.json")
        tar.add(work / MODE_FILE, MODE_FILE)
        if (work / DEVICE_LOG).exists():
            tar.add(work / DEVICE_LOG, DEVICE_LOG)
        for name in plan:
            for record in RECORDS:
                if (work / name / record).exists():
                    tar.add(work / name / record, f"{name}/{record}")
    for name in touched:
        run = work / name
        if plan[name] == "done" and (run / "model_best.keras").exists():
            target = out / f"{name}.weights.npz"
            export_portable(run / "model_best.keras", target, run / "config.json", "float16")
            written.append(target)
        elif plan[name] == "partial":
            target = out / f"{name}.resume.tgz"
            with tarfile.open(target, "w:gz") as tar:
                for path in sorted(run.rglob("*")):
                    if path.is_file() and "tensorboard" not in path.parts:
                        tar.add(path, str(path.relative_to(work)))
            written.append(target)
    for path in written:
        if path.stat().st_size > FILE_LIMIT:
            print(f"warning: {path.name} is over the 16 MiB a file that comes back")
    return written


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.check_device:
        found = accelerator()
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        where = "an accelerator, one batch fitted" if found else "no accelerator, only the CPU"
        print(f"Keras backend {backend}: {where}", flush=True)
        return 0 if found else 3
    if args.out is None:
        parser.error("--out is required")
    mode = "dry-run" if args.dry_run else "smoke" if args.smoke else "real"
    checked = os.environ.get("FACECOLAB_DEVICE_CHECKED") == "1"  # run.sh has
    # In a child process: JAX in this one would hold most of the accelerator's memory.
    if mode == "real" and not checked and subprocess.run([*CHECK, "--check-device"]).returncode:
        return 3
    work = args.work.resolve()
    plan = restore(args.resume_from, work, mode)
    if args.data:
        subprocess.run(
            [sys.executable, "scripts/gpu/bundle.py", "unpack", str(args.data), "data"],
            cwd=REPO,
            check=True,
        )
    touched: list[str] = []
    for name in args.configs:
        plan.setdefault(name, "todo")
        if plan[name] == "done":
            continue
        left = args.budget_seconds - (time.monotonic() - start) - 30  # 30 s for packing
        if left < MIN_SECONDS or (args.stop_after is not None and len(touched) >= args.stop_after):
            break
        touched.append(name)
        began = time.monotonic()
        config = config_for(name, work, args.dry_run, args.config_dir)
        code = train_one(name, config, work / name, left, args.dry_run or args.smoke)
        finished = code == 0 and (work / name / "metrics.json").exists()
        plan[name] = "done" if finished else "partial"
        print(f"{name}: exit {code}, {plan[name]}, {time.monotonic() - began:.0f} s", flush=True)
        if code not in (0, -9):
            print((work / name / "train.log").read_text()[-2000:])
    written = pack(plan, work, args.out, touched, mode)
    left = [name for name in args.configs if plan.get(name) != "done"]
    print(f"wrote {', '.join(p.name for p in written)}; still to train: {left or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
