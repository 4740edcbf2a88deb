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
CPU (the tests run it)::

    python scripts/gpu/train_plan.py --out $OUT --data .devdata [--resume-from .plan]
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
DRY_RUN = ("epochs=2", "steps_per_epoch=2", "batch_size=2", "callbacks.checkpoint_seconds=0")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="what comes back ($OUT)")
    parser.add_argument("--resume-from", type=Path, help="the previous run's fetched files")
    parser.add_argument("--configs", nargs="*", default=list(PLAN), help="shipped config names")
    parser.add_argument("--work", type=Path, default=Path("plan_work"), help="run folders")
    parser.add_argument("--data", type=Path, help="a bundle.py bundle to unpack into data/")
    parser.add_argument("--budget-seconds", type=float, default=540, help="this run's time")
    parser.add_argument("--stop-after", type=int, help="start at most this many configs")
    parser.add_argument("--dry-run", action="store_true", help="tiny steps on samples (CPU)")
    return parser


def restore(previous: Path | None, work: Path) -> dict:
    """The plan state (``{name: "done" | "partial"}``) and run folders of the last run."""
    work.mkdir(parents=True, exist_ok=True)
    if previous is None or not (previous / "records.tgz").exists():
        return {}
    for archive in (previous / "records.tgz", *sorted(previous.glob("*.resume.tgz"))):
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
    return json.loads((work / "plan.json").read_text())


def config_for(name: str, work: Path, dry_run: bool) -> Path:
    """The config file a run trains: the shipped one, or (dry run) it on its sample."""
    if not dry_run:
        return REPO / "configs" / f"{name}.json"
    from facecolab.workflows.sample_mode import project_config

    config = project_config(
        f"{name}.json", None, work / "dry_data", image_size=64, imagenet=False, sample_count=12
    )
    path = work / f"{name}.dry.json"
    path.write_text(json.dumps(config))
    return path


def train_one(name: str, config: Path, run: Path, seconds: float, dry_run: bool) -> int:
    """Train (or resume) ``name`` into ``run`` for at most ``seconds``; the exit code."""
    minutes = max(seconds - 20, 10) / 60  # the final evaluation and saving after the limit
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    hint = json.loads(config.read_text()).get("backend_hint")
    if hint and not dry_run:
        env["KERAS_BACKEND"] = hint
    command = [sys.executable, "-m", "facecolab", "train"]
    if (run / "checkpoint" / "state.json").exists():
        saved = json.loads((run / "config.json").read_text())
        saved["callbacks"]["time_limit_minutes"] = minutes
        (run / "config.json").write_text(json.dumps(saved, indent=2))
        command += ["--resume", str(run)]
    else:
        overrides = [f"callbacks.time_limit_minutes={minutes:.2f}"]
        overrides += list(DRY_RUN) if dry_run else []
        command += ["--config", str(config), "--run-dir", str(run), *overrides]
    run.mkdir(parents=True, exist_ok=True)
    with (run / "train.log").open("a") as log:
        try:
            return subprocess.run(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=seconds
            ).returncode
        except subprocess.TimeoutExpired:  # killed: the last wall-time checkpoint stays
            return -9


def pack(plan: dict, work: Path, out: Path, touched: list[str]) -> list[Path]:
    """Write ``out``'s files: records, weights of configs finished now, the partial one."""
    from facecolab.modelfiles.load import export_portable

    out.mkdir(parents=True, exist_ok=True)
    (work / "plan.json").write_text(json.dumps(plan, indent=2))
    written = [out / "records.tgz"]
    with tarfile.open(out / "records.tgz", "w:gz") as tar:
        tar.add(work / "plan.json", "plan.json")
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
    args = build_parser().parse_args(argv)
    start = time.monotonic()
    work = args.work.resolve()
    plan = restore(args.resume_from, work)
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
        config = config_for(name, work, args.dry_run)
        code = train_one(name, config, work / name, left, args.dry_run)
        finished = code == 0 and (work / name / "metrics.json").exists()
        plan[name] = "done" if finished else "partial"
        print(f"{name}: exit {code}, {plan[name]}, {time.monotonic() - began:.0f} s", flush=True)
        if code not in (0, -9):
            print((work / name / "train.log").read_text()[-2000:])
    written = pack(plan, work, args.out, touched)
    left = [name for name in args.configs if plan.get(name) != "done"]
    print(f"wrote {', '.join(p.name for p in written)}; still to train: {left or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
