"""Turn what ``scripts/gpu/train_plan.py`` brought back (``records.tgz``, a portable
``<name>.weights.npz`` per finished config, a ``<name>.resume.tgz`` for an unfinished one)
into run folders here: ``RUNS/<name>/`` with the run records and ``model_best.weights.npz``
(portable: it loads on any Keras backend, ``facecolab.modelfiles.load.load_model_any``).
Keep the fetched folder: it is the next plan run's ``--resume-from``."""

from __future__ import annotations

import argparse
import shutil
import tarfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fetched", type=Path, help="folder with records.tgz and <run>.weights.npz")
    parser.add_argument("runs", type=Path, help="where the run folders go")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.fetched / "records.tgz") as records:
        records.extractall(args.runs, filter="data")
    for weights in sorted(args.fetched.glob("*.weights.npz")):
        name = weights.name.removesuffix(".weights.npz")
        target = args.runs / name / "model_best.weights.npz"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, target)
        print(target)


if __name__ == "__main__":
    main()
