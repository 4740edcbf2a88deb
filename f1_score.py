"""F1 of predicted label maps against ground truth (project 4): ``python f1_score.py --help``.

Works from a fresh clone without installing: the repository root is put on ``sys.path``.
Same as ``python -m facecolab score``; the work is in ``facecolab/measures/score.py``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from facecolab.measures.score import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
