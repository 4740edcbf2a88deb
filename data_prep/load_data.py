"""Prepare a raw dataset for training (works from a fresh clone, no install needed).

    python data_prep/load_data.py --dataset NAME --root RAW_DIR --out PREPARED_DIR \
        [--size 256] [--split 0.7,0.2,0.1] [--seed 0] [--workers N] [--strict] \
        [--aspect stretch|letterbox|crop] [--sample N]

See ``facecolab.cli.prepare`` for every option.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facecolab.cli.prepare import build_parser, main  # noqa: E402

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
