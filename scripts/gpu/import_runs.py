"""Turn what ``scripts/gpu/train_all.sh`` brought back (``records.tgz`` + one float16 ``.npz``
of weights per run) into ordinary run folders here: ``RUNS/<name>/`` with the run records and
``model_best.keras`` rebuilt by the run's own config on the local Keras backend."""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

import numpy as np

from facecolab.modelfiles.load import build_from_config
from facecolab.workflows.train import save_model_atomic


def import_run(npz: Path, runs: Path) -> Path:
    import json

    run = runs / npz.stem
    config = json.loads((run / "config.json").read_text())
    model = build_from_config(config, source=str(run / "config.json"))
    saved = np.load(npz)
    arrays = [saved[f"w{i:04d}"].astype(np.float32) for i in range(len(saved.files))]
    model.set_weights(arrays)
    save_model_atomic(model, run / "model_best.keras")
    return run / "model_best.keras"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fetched", type=Path, help="folder with records.tgz and <run>.npz")
    parser.add_argument("runs", type=Path, help="where the run folders go")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.fetched / "records.tgz") as records:
        records.extractall(args.runs, filter="data")
    for npz in sorted(args.fetched.glob("*.npz")):
        print(import_run(npz, args.runs))


if __name__ == "__main__":
    main()
