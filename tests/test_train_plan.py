"""scripts/gpu/train_plan.py --dry-run: configs trained one at a time, the plan resumed from
what the previous run brought back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from facecolab.modelfiles.load import load_model_any

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("p4_unet_helen", "p5_portrait_shen_fast")


def plan_run(tmp_path: Path, out: str, *extra) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "scripts/gpu/train_plan.py",
        "--dry-run",
        "--out",
        str(tmp_path / out),
    ]
    command += ["--work", str(tmp_path / f"work-{out}"), "--configs", *CONFIGS, "--stop-after", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [*command, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def plan_of(out: Path) -> dict:
    with tarfile.open(out / "records.tgz") as tar:
        return json.load(tar.extractfile("plan.json"))


@pytest.mark.slow
def test_dry_run_trains_one_config_per_run_and_resumes(tmp_path):
    plan_run(tmp_path, "first")
    first = tmp_path / "first"
    assert sorted(p.name for p in first.iterdir()) == ["p4_unet_helen.weights.npz", "records.tgz"]
    assert plan_of(first) == {"p4_unet_helen": "done", "p5_portrait_shen_fast": "todo"}

    result = plan_run(tmp_path, "second", "--resume-from", str(first))
    second = tmp_path / "second"
    assert "still to train: nothing" in result.stdout
    assert sorted(p.name for p in second.iterdir()) == [
        "p5_portrait_shen_fast.weights.npz",
        "records.tgz",
    ]
    assert plan_of(second) == dict.fromkeys(CONFIGS, "done")
    with tarfile.open(second / "records.tgz") as tar:
        names = set(tar.getnames())
    assert {f"{name}/history.csv" for name in CONFIGS} <= names, "both runs' records"
    model = load_model_any(second / "p5_portrait_shen_fast.weights.npz")
    assert model.input_shape[1:3] == (64, 64)


@pytest.mark.slow
def test_smoke_run_reads_config_dir_and_its_plan_never_passes_for_a_real_one(tmp_path):
    """--smoke trains --config-dir's config on its own data (here the procedural sample, as a
    staged config names its prepared folder); its records say so, and a real run or a dry run
    refuses to resume from them."""
    from facecolab.workflows.sample_mode import project_config

    staged = tmp_path / "configs"
    staged.mkdir()
    config = project_config(
        "p4_unet_helen.json",
        None,
        tmp_path / "data",
        image_size=64,
        imagenet=False,
        sample_count=12,
    )
    (staged / "p4_unet_helen.json").write_text(json.dumps(config))
    command = [sys.executable, "scripts/gpu/train_plan.py", "--config-dir", str(staged)]
    command += ["--configs", "p4_unet_helen", "--work", str(tmp_path / "work")]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [*command, "--smoke", "--out", str(tmp_path / "out")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert plan_of(tmp_path / "out") == {"p4_unet_helen": "done"}
    with tarfile.open(tmp_path / "out" / "records.tgz") as tar:
        assert tar.extractfile("mode.txt").read() == b"smoke"
        assert (
            json.load(tar.extractfile("p4_unet_helen/config.json"))["data"]["prepared"]
            == (config["data"]["prepared"])
        ), "the staged config, not the shipped one"
    resumed = subprocess.run(
        [*command, "--dry-run", "--out", str(tmp_path / "again")]
        + ["--resume-from", str(tmp_path / "out")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert resumed.returncode != 0
    assert "a plan of smoke runs, and this is a dry-run run" in resumed.stderr
    assert not (tmp_path / "again").exists()


def test_the_device_check_fits_one_batch_here():
    """What --check-device runs on a found accelerator, run on this CPU: the plan's kind of
    model fits a batch on the default backend."""
    sys.path.insert(0, str(REPO / "scripts" / "gpu"))
    import train_plan

    assert np.isfinite(train_plan.fit_one_batch())
