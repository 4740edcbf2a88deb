"""Stage a training call on the lent GPU machine, take back what it brought, and undo the staging.

The lent machine receives the working tree (tracked files, untracked ones git does not ignore,
and carried paths: 64 MiB in all) and has JAX and PyTorch but no Keras, nothing reachable from
it, and no ``../shared``. ``stage`` makes a call of it one ``run``:

* ``.gpu/`` (ignored) gets ``whl/`` (Keras and what it needs that the machine lacks, built for
  its Python 3.12), ``data/`` (each config's prepared folder, prepared here first when missing,
  packed by ``bundle.py``), ``configs/`` (the configs, their files outside the checkout
  pointing into ``.gpu/files/``), ``files/`` (those files: ImageNet encoders, and
  ``weights/manifest.json`` with the shipped weights the configs start from), ``plan/`` (what
  the last call brought back, when ``fetch`` kept some) and ``run.sh`` (the command);
* ``weights/`` (53 MiB of shipped files) leaves the index (``git rm --cached``; the files stay
  on disk) and is ignored through the repository's ``info/exclude``, so the tree fits; the
  commit staged from is kept in ``.gpu/staged-head``;
* it prints the ``run`` call (``bash .gpu/run.sh``, carrying ``.gpu``) and what travels.

``fetch DIR`` turns a call's files into ``runs/gpu/<config>/`` (``import_runs.py``; a
rehearsal's into ``runs/rehearsal/``) and keeps what the next call resumes from as
``.gpu/plan``; ``restore`` tracks ``weights/`` again as the staged-from commit has it.
Commit nothing between ``stage`` and ``restore`` (the index says the weights are deleted):
``stage`` refuses to start with anything but its own deletions staged, ``restore`` says so
when a commit since recorded the weights as deleted, and both are safe to repeat::

    python scripts/gpu/stage.py stage [--configs NAME ...] [--set NAME:key=value ...]
    python scripts/gpu/stage.py fetch FILES_AT   # the folder the run tool put the files in
    python scripts/gpu/stage.py restore
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from bundle import WEBP_QUALITY, pack
from train_plan import DEVICE_LOG, PLAN, plan_mode

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

STAGE = ".gpu"
TREE_LIMIT = 64 * 2**20  # bytes that travel to the lent machine
CALL_SECONDS = 600  # one command's limit there
SETUP_SECONDS = 60  # installing the wheels, unpacking the data, checking the backends
DEVICE_PYTHON = "3.12"  # the lent machine's python3 (device/KINDS.md)
DEVICE_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64")
# Keras's requirements that the lent machine lacks (it has numpy, h5py, ml-dtypes, rich,
# absl-py and packaging, and everything facecolab needs but Keras).
MISSING_THERE = ("namex", "optree")
EXCLUDE_LINE = "/weights/"
HEAD_FILE = "staged-head"  # in .gpu/: the commit staged from

RUN_SH = """#!/usr/bin/env bash
# Written by scripts/gpu/stage.py: what the lent GPU machine runs, from the repository root.
# Extra arguments go to train_plan.py (a rehearsal here: --smoke).
set -uo pipefail
: "${{OUT:?set OUT, the folder whose files come back}}"
work=$(mktemp -d -t plan_work.XXXXXX)  # this call's own, never an older one
python3 -c "import importlib.util as u, sys; sys.exit(u.find_spec('keras') is None)" ||
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \\
        --target /tmp/site {stage}/whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
export KERAS_HOME=/tmp/keras-home MPLCONFIGDIR=/tmp/mpl
mkdir -p weights && cp -n {stage}/files/weights/* weights/
backend=""
for candidate in {backends}; do
    if KERAS_BACKEND=$candidate python3 scripts/gpu/train_plan.py --check-device \\
        >>"$work/{log}" 2>&1; then
        backend=$candidate; break
    fi
    tail -n 5 "$work/{log}"
done
case " $* " in *" --smoke "*|*" --dry-run "*) backend=${{backend:-jax}} ;; esac
if [ -z "$backend" ]; then
    cp "$work/{log}" "$OUT/"
    echo "no Keras backend trains on an accelerator here ({log})"; exit 3
fi
tail -n 1 "$work/{log}"
export KERAS_BACKEND=$backend FACECOLAB_DEVICE_CHECKED=1
resume=()
[ -f {stage}/plan/records.tgz ] && resume=(--resume-from {stage}/plan)
python3 scripts/gpu/train_plan.py --out "$OUT" --work "$work" --data {stage}/data \\
    --config-dir {stage}/configs --budget-seconds $(({budget} - SECONDS)) \\
    "${{resume[@]}}" --configs {configs} "$@"
"""


def run_script(configs: list[str], backends: list[str]) -> str:
    """``.gpu/run.sh``: train ``configs`` with the first of ``backends`` that passes the
    device check, in the call's time less the setup's."""
    return RUN_SH.format(
        stage=STAGE,
        log=DEVICE_LOG,
        backends=" ".join(backends),
        budget=CALL_SECONDS - SETUP_SECONDS,
        configs=" ".join(configs),
    )


def git(*args: str, check: bool = True) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=check, capture_output=True, text=True
    ).stdout


# --- configs and the files they need -------------------------------------------------------


def outside(path: str) -> bool:
    """Whether a config's path lies outside the checkout (so does not travel)."""
    resolved = (REPO / path).resolve()
    return not resolved.is_relative_to(REPO)


def staged_config(config: dict, manifest: dict) -> tuple[dict, dict[str, Path]]:
    """The config as the lent machine reads it, and ``{path under .gpu/files: source}``.

    A local encoder file outside the checkout is copied and pointed at; a shipped
    ``initial_weights`` name brings its weights file (the manifest comes with any);
    ``data.root`` stays (training reads the prepared folder, which travels in ``data/``).
    """
    config = json.loads(json.dumps(config))
    files: dict[str, Path] = {}
    options = config["model"].get("options", {})
    encoder = options.get("encoder_weights")
    if encoder == "imagenet":
        raise ValueError(
            "model.options.encoder_weights 'imagenet' is a download, and the lent machine "
            "reaches nothing: point it at a local file (--set NAME:model.options."
            "encoder_weights=PATH) or null"
        )
    if encoder is not None and outside(encoder):
        target = f"imagenet/{Path(encoder).name}"
        files[target] = (REPO / encoder).resolve()
        options["encoder_weights"] = f"{STAGE}/files/{target}"
    start = config["model"].get("initial_weights")
    if start in manifest:
        files[f"weights/{manifest[start]['file']}"] = REPO / "weights" / manifest[start]["file"]
    elif start is not None:
        raise ValueError(
            f"model.initial_weights {start!r} is not a shipped model: the lent machine only "
            "gets shipped weights (train from one, or stage the run folder by hand)"
        )
    return config, files


def overrides_by_config(texts: list[str], names: list[str]) -> dict[str, list[str]]:
    """``["NAME:key.sub=value", ...]`` → ``{name: ["key.sub=value", ...]}`` for every staged
    name: a recipe tried on the lent machine without editing the shipped config."""
    changes: dict[str, list[str]] = {name: [] for name in names}
    for text in texts:
        name, sep, override = text.partition(":")
        if not sep or name not in changes:
            raise SystemExit(f"stage: --set {text!r} must be NAME:key=value, NAME one of --configs")
        changes[name].append(override)
    return changes


def bundled_folder(config: dict) -> Path:
    """The prepared folder that carries a (resolved) config's data, prepared here from
    ``data.root`` when missing: its own, or for a relabelled one (``<base>_<table>``) the
    base folder it is derived from when unpacked (``bundle.unpack``), so the images travel once.
    """
    from facecolab.workflows.train import prepared_dir, prepared_path

    relabel = config["data"]["relabel"]
    if relabel is None:
        return REPO / prepared_dir(config)
    folder = REPO / prepared_path(config)  # never prepared here: rebuilt there from the base
    if not folder.name.endswith(f"_{relabel}"):
        raise ValueError(
            f"{folder.name}: a folder relabelled by {relabel!r} must be named <base>_{relabel} "
            "to be rebuilt from its base folder on the lent machine"
        )
    base = folder.name.removesuffix(f"_{relabel}")
    data = config["data"] | {"relabel": None, "prepared": str(folder.parent / base)}
    return REPO / prepared_dir(config | {"data": data})


# --- what travels ----------------------------------------------------------------------------


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def tree_bytes() -> int:
    """Bytes of what travels besides the carried ``.gpu``: tracked files and untracked ones git
    does not ignore (symbolic links count as links)."""
    names = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    paths = [REPO / name for name in names if name]
    return sum(p.lstat().st_size for p in paths if p.is_symlink() or p.is_file())


def exclude_file() -> Path:
    """The repository's ``info/exclude`` (also in a worktree, whose ``.git`` is a file)."""
    return REPO / git("rev-parse", "--git-path", "info/exclude").strip()


def check_index() -> None:
    """Refuse to stage over changes staged for commit, except :func:`untrack_weights`' own
    (the deletions under ``weights/`` of an earlier staging, the exclude line in place)."""
    lines = git("diff", "--cached", "--name-status").splitlines()
    ours = EXCLUDE_LINE in exclude_text().splitlines() and (REPO / STAGE / HEAD_FILE).exists()
    for line in lines:
        status, name = line.split("\t", 1)
        if not (ours and status == "D" and name.startswith("weights/")):
            raise SystemExit(f"stage: {name} is staged for commit; commit or unstage it first")


def exclude_text() -> str:
    path = exclude_file()
    return path.read_text() if path.exists() else ""


def untrack_weights() -> None:
    """Take ``weights/`` out of the index and ignore it (the files stay); remember HEAD."""
    check_index()
    exclude = exclude_file()
    lines = exclude_text().splitlines()
    if EXCLUDE_LINE not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("".join(f"{line}\n" for line in [*lines, EXCLUDE_LINE]))
    head = REPO / STAGE / HEAD_FILE
    if not head.exists():
        head.parent.mkdir(parents=True, exist_ok=True)
        head.write_text(git("rev-parse", "HEAD").strip())
    if git("ls-files", "weights").strip():
        git("rm", "-r", "-q", "--cached", "weights")


def track_weights() -> None:
    """Undo :func:`untrack_weights` (safe to repeat): ``weights/`` back in the index as the
    commit staged from has it. A commit made while staged recorded the weights as deleted:
    then they come back staged for commit, and it says so (exit 1)."""
    head = REPO / STAGE / HEAD_FILE
    staged_from = head.read_text().strip() if head.exists() else "HEAD"
    git("reset", "-q", staged_from, "--", "weights")
    exclude = exclude_file()
    if exclude.exists():
        lines = [line for line in exclude.read_text().splitlines() if line != EXCLUDE_LINE]
        exclude.write_text("".join(f"{line}\n" for line in lines))
    if not git("ls-files", "weights").strip():
        raise SystemExit(f"restore: no weights/ in {staged_from}: nothing to track again")
    now = git("rev-parse", "HEAD").strip()
    head.unlink(missing_ok=True)
    if staged_from not in ("HEAD", now) and git("diff", "--cached", "--name-only", "--", "weights"):
        raise SystemExit(
            f"restore: HEAD moved from {staged_from[:12]} to {now[:12]} while staged, and a commit "
            "since deleted weights/; they are staged again: commit them back (git commit -m "
            "'weights/ back')"
        )


def download_wheels(target: Path) -> None:
    """Keras (this environment's version) and :data:`MISSING_THERE`, for the lent machine
    (kept from the last staging when its Keras is this one)."""
    import keras

    if list(target.glob(f"keras-{keras.__version__}-*.whl")):
        return
    shutil.rmtree(target, ignore_errors=True)
    platforms = [arg for name in DEVICE_PLATFORMS for arg in ("--platform", name)]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", DEVICE_PYTHON, "--implementation", "cp", *platforms]
    command += ["-d", str(target), f"keras=={keras.__version__}", *MISSING_THERE]
    subprocess.run(command, check=True)


# --- the commands ------------------------------------------------------------------------------


def stage(args) -> None:
    from facecolab.config import config_file, load_config

    check_index()  # before minutes of packing
    root = REPO / STAGE
    records = root / "plan" / "records.tgz"
    if not args.fresh and records.exists() and plan_mode(records) != "real":
        raise SystemExit(f"stage: {records} is a {plan_mode(records)} plan: stage --fresh")
    manifest = json.loads((REPO / "weights" / "manifest.json").read_text())
    changes = overrides_by_config(args.set, args.configs)
    configs = {
        name: load_config(config_file(f"{name}.json"), changes[name]) for name in args.configs
    }
    for sub in ("configs", "files", "data") + (("plan",) if args.fresh else ()):
        shutil.rmtree(root / sub, ignore_errors=True)
        (root / sub).mkdir(parents=True)
    files = {"weights/manifest.json": REPO / "weights" / "manifest.json"}
    folders = []
    for name, config in configs.items():
        travelling, needed = staged_config(config, manifest)
        (root / "configs" / f"{name}.json").write_text(json.dumps(travelling, indent=2) + "\n")
        files |= needed
        folder = bundled_folder(config)
        folders += [] if folder in folders else [folder]
    for target, source in files.items():
        (root / "files" / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / "files" / target)
    pack(folders, root / "data", args.webp_quality)
    if args.wheels:
        shutil.rmtree(root / "whl", ignore_errors=True)
        shutil.copytree(args.wheels, root / "whl")
    else:
        download_wheels(root / "whl")
    (root / "run.sh").write_text(run_script(args.configs, args.backends))
    untrack_weights()
    report(root)


def report(root: Path) -> None:
    parts = {sub.name: folder_bytes(sub) for sub in sorted(root.iterdir()) if sub.is_dir()}
    tree = tree_bytes()
    total = tree + sum(parts.values())
    sizes = ", ".join(f"{name} {size / 2**20:.1f}" for name, size in parts.items())
    print(
        f"travels: {total / 2**20:.1f} MiB of {TREE_LIMIT / 2**20:.0f} (tree "
        f"{tree / 2**20:.1f}; {STAGE}/: {sizes})"
    )
    if total > TREE_LIMIT:
        raise SystemExit(
            "stage: too much to travel; stage fewer configs or pack with a lower "
            "--webp-quality (weights/ is out of the index now: scripts/gpu/stage.py restore)"
        )
    print(
        f'run(command="bash {STAGE}/run.sh", carry=["{STAGE}"], timeout_s={CALL_SECONDS})\n'
        f"then: python scripts/gpu/stage.py fetch FILES_AT; python scripts/gpu/stage.py restore"
    )


def fetch(args) -> None:
    """Import a call's runs (``--runs``, default ``runs/gpu/``; a rehearsal's into
    ``runs/rehearsal/``) and keep what the next call resumes from (the records and an
    unfinished config's state, not the finished weights) as ``.gpu/plan``; a rehearsal's
    plan is not kept. Nothing changes when the call brought no ``records.tgz``."""
    records = args.fetched / "records.tgz"
    if not records.exists():
        raise SystemExit(f"fetch: {records}: no such file; the call trained nothing to keep")
    mode = plan_mode(records)
    runs = args.runs or (REPO / "runs" / ("gpu" if mode == "real" else "rehearsal"))
    with tarfile.open(records) as tar:
        plan = json.load(tar.extractfile("plan.json"))
    mixed = [runs / name for name in plan if (runs / name / "model_best.keras").exists()]
    if mixed:
        raise SystemExit(
            f"fetch: {mixed[0]} holds a model trained elsewhere; import into another --runs"
        )
    subprocess.run(
        [sys.executable, str(HERE / "import_runs.py"), str(args.fetched), str(runs)], check=True
    )
    if mode != "real":
        print(f"a {mode} plan: its runs are in {runs}; .gpu/plan is left as it was")
        return
    kept = REPO / STAGE / "plan.new"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for path in [records, *sorted(args.fetched.glob("*.resume.tgz"))]:
        shutil.copyfile(path, kept / path.name)
    shutil.rmtree(REPO / STAGE / "plan", ignore_errors=True)
    kept.rename(REPO / STAGE / "plan")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stage", help="write .gpu/ and untrack weights/")
    s.add_argument("--configs", nargs="+", default=list(PLAN), help="config names, in order")
    s.add_argument("--fresh", action="store_true", help="forget the last call's plan/")
    s.add_argument(
        "--set", nargs="*", default=[], metavar="NAME:KEY=VALUE", help="change a staged config"
    )
    s.add_argument("--backends", nargs="+", default=["jax", "torch"], help="tried in order")
    s.add_argument("--webp-quality", type=int, default=WEBP_QUALITY, help="of the packed images")
    s.add_argument("--wheels", type=Path, help="a folder of wheels to use instead of pip")
    f = sub.add_parser("fetch", help="keep a call's files and import its runs")
    f.add_argument("fetched", type=Path, help="the folder the files came back to")
    f.add_argument("--runs", type=Path, help="where runs go (default runs/gpu)")
    sub.add_parser("restore", help="track weights/ again")
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    for name in ("fetched", "runs", "wheels"):  # as the caller meant them
        if getattr(args, name, None) is not None:
            setattr(args, name, getattr(args, name).resolve())
    os.chdir(REPO)  # configs name their folders relative to the checkout
    if args.command == "stage":
        stage(args)
    elif args.command == "fetch":
        fetch(args)
    else:
        track_weights()


if __name__ == "__main__":
    main()
