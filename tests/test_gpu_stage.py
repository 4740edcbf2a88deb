"""scripts/gpu/stage.py: what a call of the lent GPU machine carries, and undoing the staging."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts" / "gpu"))

import stage  # noqa: E402

MANIFEST = {"p5_portrait_shen_fast": {"file": "p5_portrait_shen_fast.weights.npz"}}
ENCODER = "../shared/weights/imagenet/mobilenet_v2_0.35_no_top.h5"


def config(encoder=None, start=None) -> dict:
    return {"model": {"options": {"encoder_weights": encoder}, "initial_weights": start}}


@pytest.mark.parametrize(
    ("encoder", "start", "travelling_encoder", "files"),
    [
        (None, None, None, set()),
        (
            ENCODER,
            None,
            ".gpu/files/imagenet/mobilenet_v2_0.35_no_top.h5",
            {"imagenet/mobilenet_v2_0.35_no_top.h5"},
        ),
        ("weights/inside.h5", None, "weights/inside.h5", set()),  # travels with the tree
        (None, "p5_portrait_shen_fast", None, {"weights/p5_portrait_shen_fast.weights.npz"}),
    ],
)
def test_staged_config_points_files_outside_the_checkout_into_the_stage(
    encoder, start, travelling_encoder, files
):
    original = config(encoder, start)
    travelling, needed = stage.staged_config(original, MANIFEST)
    assert travelling["model"]["options"]["encoder_weights"] == travelling_encoder
    assert set(needed) == files
    assert original == config(encoder, start), "the shipped config is left as it was"
    if encoder == ENCODER:
        assert needed[next(iter(files))] == (REPO / ENCODER).resolve()


@pytest.mark.parametrize(
    ("encoder", "start", "message"),
    [
        (None, "runs/my_run", "not a shipped model"),
        ("imagenet", None, "'imagenet' is a download, and the lent machine reaches nothing"),
    ],
)
def test_staged_config_refuses_files_the_lent_machine_cannot_get(encoder, start, message):
    with pytest.raises(ValueError, match=message):
        stage.staged_config(config(encoder, start), MANIFEST)


def shipped(name: str, prepared: Path) -> dict:
    """A shipped config, resolved, reading ``prepared``."""
    from facecolab.config import config_file, load_config

    return load_config(config_file(f"{name}.json"), [f"data.prepared={prepared}"])


@pytest.mark.parametrize(
    ("name", "prepared", "bundled"),
    [
        ("p2_unet_celebamask_mini", "celebamask_hq_512", "celebamask_hq_512"),
        ("p3_pspnet_celebamask_face8", "celebamask_hq_512_face8", "celebamask_hq_512"),
    ],
)
def test_a_relabelled_folder_travels_as_its_base(tmp_path, name, prepared, bundled):
    for folder in {prepared, bundled}:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "dataset.json").write_text("{}")
    assert stage.bundled_folder(shipped(name, tmp_path / prepared)) == tmp_path / bundled


def test_a_relabelled_folder_not_named_after_its_table_is_refused(tmp_path):
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "dataset.json").write_text("{}")
    config = shipped("p3_pspnet_celebamask_face8", tmp_path / "faces")
    with pytest.raises(ValueError, match="<base>_face8"):
        stage.bundled_folder(config)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with weights/ and one other file committed."""
    root = tmp_path / "repo"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "a.weights.npz").write_bytes(b"w" * 1000)
    (root / "code.py").write_text("x = 1\n")
    (root / ".gitignore").write_text("/.gpu/\n")
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "weights"]
    for command in (["init", "-q"], ["add", "."], commit):
        subprocess.run(["git", *command], cwd=root, check=True)
    monkeypatch.setattr(stage, "REPO", root)
    monkeypatch.chdir(root)  # stage.main works from the checkout; the test's folder comes back
    return root


def tracked() -> list[str]:
    return stage.git("ls-files").split()


def test_untrack_and_restore_weights_round_trip(repo):
    before = tracked()
    stage.untrack_weights()
    stage.untrack_weights()  # staging again is allowed
    assert tracked() == [".gitignore", "code.py"]
    assert (repo / "weights" / "a.weights.npz").exists(), "the files stay on disk"
    assert stage.git("status", "--porcelain", "--ignored", "weights").startswith("D ")
    travelling = len("x = 1\n") + len("/.gpu/\n")
    assert stage.tree_bytes() == travelling, "untracked weights/ is ignored, so stays"
    stage.track_weights()
    stage.track_weights()  # restoring again is harmless
    assert tracked() == before
    assert "/weights/" not in (repo / ".git" / "info" / "exclude").read_text()


def test_a_commit_made_while_staged_is_caught_by_restore(repo):
    stage.untrack_weights()
    stage.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "oops")
    assert tracked() == [".gitignore", "code.py"], "the commit recorded the weights as deleted"
    with pytest.raises(SystemExit, match="commit them back"):
        stage.track_weights()
    assert "weights/a.weights.npz" in tracked(), "staged again, ready to commit back"
    assert "/weights/" not in (repo / ".git" / "info" / "exclude").read_text()


@pytest.mark.parametrize("name", ["code.py", "weights/new.tflite"])
def test_stage_refuses_with_other_changes_staged(repo, name):
    (repo / name).write_text("changed\n")
    stage.git("add", name)
    with pytest.raises(SystemExit, match=f"{name} is staged"):
        stage.untrack_weights()
    assert "weights/a.weights.npz" in tracked()
    assert not (repo / stage.STAGE / stage.HEAD_FILE).exists()


STUB_PYTHON = """#!/usr/bin/env bash
# python3 stand-in: logs each call; a device check exits $CHECK_EXIT.
echo "$KERAS_BACKEND ${FACECOLAB_DEVICE_CHECKED:-} $*" >> "$CALLS"
case "$*" in *--check-device*) echo "Keras backend $KERAS_BACKEND: stub"; exit "$CHECK_EXIT";; esac
"""


def run_script(tmp_path: Path, check_exit: int, *extra, records: bool = False):
    """``.gpu/run.sh`` as stage writes it, run with a stub ``python3``; (exit code, the
    stub's calls, $OUT)."""
    work = tmp_path / "tree"
    (work / stage.STAGE / "files" / "weights").mkdir(parents=True)
    (work / stage.STAGE / "files" / "weights" / "manifest.json").write_text("{}")
    if records:
        (work / stage.STAGE / "plan").mkdir()
        (work / stage.STAGE / "plan" / "records.tgz").write_bytes(b"")
    (work / stage.STAGE / "run.sh").write_text(stage.run_script(["a", "b"], ["jax", "torch"]))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").write_text(STUB_PYTHON)
    (tmp_path / "bin" / "python3").chmod(0o755)
    out, calls = tmp_path / "out", tmp_path / "calls.txt"
    out.mkdir()
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "OUT": str(out),
        "CALLS": str(calls),
        "CHECK_EXIT": str(check_exit),
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        ["bash", f"{stage.STAGE}/run.sh", *extra], cwd=work, env=env, capture_output=True
    )
    return done.returncode, calls.read_text().splitlines(), out


def test_run_script_without_an_accelerator_stops_before_training(tmp_path):
    code, calls, out = run_script(tmp_path, 3)
    assert code == 3
    assert [call.split()[0] for call in calls if "--check-device" in call] == ["jax", "torch"]
    assert not [call for call in calls if "--out" in call], "nothing trained"
    assert "Keras backend torch: stub" in (out / "device-check.log").read_text()


@pytest.mark.parametrize(
    ("check_exit", "extra", "records", "backend", "expected"),
    [
        (0, (), False, "jax 1", ["--budget-seconds", "--configs a b"]),
        (0, (), True, "jax 1", ["--resume-from .gpu/plan"]),
        (3, ("--smoke",), False, "jax 1", ["--configs a b --smoke"]),
    ],
    ids=["first call", "next call resumes", "rehearsal on a CPU"],
)
def test_run_script_trains_the_plan(tmp_path, check_exit, extra, records, backend, expected):
    code, calls, _ = run_script(tmp_path, check_exit, *extra, records=records)
    assert code == 0
    (plan,) = [call for call in calls if "--out" in call]
    assert plan.startswith(f"{backend} scripts/gpu/train_plan.py")
    assert f"--work {tmp_path}/plan_work." in plan and "--config-dir .gpu/configs" in plan
    for part in expected:
        assert part in plan
    assert ("--resume-from" in plan) == records


def test_tree_limit_is_checked_before_the_call(repo, monkeypatch, capsys):
    root = repo / stage.STAGE
    (root / "data").mkdir(parents=True)
    (root / "data" / "big").write_bytes(b"0" * 1000)
    stage.report(root)
    assert 'run(command="bash .gpu/run.sh", carry=[".gpu"]' in capsys.readouterr().out
    monkeypatch.setattr(stage, "TREE_LIMIT", 1000)
    with pytest.raises(SystemExit, match="too much to travel"):
        stage.report(root)


def test_plan_checks_for_an_accelerator(tmp_path):
    """train_plan.py --check-device: no accelerator on the CI machine, exit 3, said plainly;
    a plan without --dry-run/--smoke refuses to train there."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    plan = [sys.executable, str(REPO / "scripts/gpu/train_plan.py")]
    check = subprocess.run([*plan, "--check-device"], env=env, capture_output=True, text=True)
    assert check.returncode == 3, check.stderr[-2000:]
    assert "Keras backend jax: no accelerator, only the CPU" in check.stdout
    refused = subprocess.run(
        [*plan, "--out", str(tmp_path / "out"), "--configs", "p4_unet_helen"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 3
    assert not (tmp_path / "out").exists(), "nothing trained, nothing written"


def fetched_files(folder: Path, mode: str | None = "real") -> Path:
    """What a call brings back: records (plan, one run's history, the mode), its weights and
    an unfinished config's state."""
    records = folder.parent / f"{folder.name}-records"
    (records / "p4_unet_helen").mkdir(parents=True)
    (records / "plan.json").write_text(
        '{"p4_unet_helen": "done", "p5_portrait_shen_fast": "partial"}'
    )
    (records / "p4_unet_helen" / "history.csv").write_text("epoch\n0\n")
    if mode is not None:
        (records / "mode.txt").write_text(mode)
    folder.mkdir()
    with tarfile.open(folder / "records.tgz", "w:gz") as tar:
        for path in sorted(records.rglob("*.*")):
            tar.add(path, str(path.relative_to(records)))
    (folder / "p4_unet_helen.weights.npz").write_bytes(b"weights")
    (folder / "p5_portrait_shen_fast.resume.tgz").write_bytes(b"state")
    return folder


def test_fetch_keeps_what_the_next_call_resumes_from_and_imports_the_runs(repo, tmp_path):
    fetched = fetched_files(tmp_path / "files_at")
    stage.main(["fetch", str(fetched)])
    kept = sorted(p.name for p in (repo / stage.STAGE / "plan").iterdir())
    assert kept == ["p5_portrait_shen_fast.resume.tgz", "records.tgz"]
    run = repo / "runs" / "gpu" / "p4_unet_helen"
    assert (run / "model_best.weights.npz").read_bytes() == b"weights"
    assert (run / "history.csv").exists()


@pytest.mark.parametrize("mode", ["smoke", "dry-run", None], ids=str)
def test_fetch_of_a_rehearsal_keeps_its_runs_apart_and_the_plan_as_it_was(repo, tmp_path, mode):
    """Smoke and dry runs, and records older than the mode (all made by rehearsals)."""
    plan = repo / stage.STAGE / "plan"
    plan.mkdir(parents=True)
    (plan / "records.tgz").write_bytes(b"the last real call's")
    stage.main(["fetch", str(fetched_files(tmp_path / "files_at", mode))])
    assert (plan / "records.tgz").read_bytes() == b"the last real call's"
    assert (repo / "runs" / "rehearsal" / "p4_unet_helen" / "model_best.weights.npz").exists()
    assert not (repo / "runs" / "gpu").exists()


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda fetched, runs: (fetched / "records.tgz").unlink(), "the call trained nothing"),
        (
            lambda fetched, runs: (
                (runs / "p4_unet_helen").mkdir(parents=True)
                or (runs / "p4_unet_helen" / "model_best.keras").write_bytes(b"mine")
            ),
            "holds a model trained elsewhere",
        ),
    ],
    ids=["no records", "a local run in the way"],
)
def test_fetch_refuses_and_changes_nothing(repo, tmp_path, prepare, message):
    fetched, runs = fetched_files(tmp_path / "files_at"), repo / "runs" / "gpu"
    plan = repo / stage.STAGE / "plan"
    plan.mkdir(parents=True)
    (plan / "records.tgz").write_bytes(b"the last call's")
    prepare(fetched, runs)
    with pytest.raises(SystemExit, match=message):
        stage.main(["fetch", str(fetched)])
    assert [p.name for p in plan.iterdir()] == ["records.tgz"]
    assert (plan / "records.tgz").read_bytes() == b"the last call's"
    assert not (runs / "p4_unet_helen" / "history.csv").exists()


def test_fetch_reads_paths_from_where_it_was_called(repo, tmp_path, monkeypatch):
    fetched_files(tmp_path / "files_at")
    monkeypatch.chdir(tmp_path)
    stage.main(["fetch", "files_at", "--runs", "mine"])
    assert (tmp_path / "mine" / "p4_unet_helen" / "model_best.weights.npz").exists()


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([], {"a": [], "b": []}),
        (
            ["a:epochs=80", "a:model.initial_weights=null"],
            {"a": ["epochs=80", "model.initial_weights=null"], "b": []},
        ),
        (["b:optimizer.learning_rate=0.002"], {"a": [], "b": ["optimizer.learning_rate=0.002"]}),
    ],
)
def test_set_changes_one_staged_config(texts, expected):
    assert stage.overrides_by_config(texts, ["a", "b"]) == expected


@pytest.mark.parametrize("text", ["epochs=80", "c:epochs=80", ":epochs=80"])
def test_set_names_a_staged_config(text):
    with pytest.raises(SystemExit, match="NAME:key=value"):
        stage.overrides_by_config([text], ["a", "b"])


@pytest.mark.parametrize("mode", ["smoke", None], ids=str)
def test_stage_refuses_to_resume_a_rehearsal_as_a_real_plan(repo, tmp_path, mode):
    fetched = fetched_files(tmp_path / "files_at", mode)
    (repo / stage.STAGE / "plan").mkdir(parents=True)
    shutil.copyfile(fetched / "records.tgz", repo / stage.STAGE / "plan" / "records.tgz")
    with pytest.raises(SystemExit, match="plan: stage --fresh"):
        stage.main(["stage", "--configs", "p4_unet_helen"])
    assert "weights/a.weights.npz" in tracked(), "refused before any work"
