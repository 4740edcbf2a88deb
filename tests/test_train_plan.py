"""scripts/gpu/train_plan.py --dry-run: configs trained one at a time, the plan resumed from
what the previous run brought back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

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
