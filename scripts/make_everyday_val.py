"""Write the everyday-framing validation set (``facecolab.data.everyday``): Shen et al.'s
validation people composited small, off-centre and in pairs onto held-aside scenes.

    python scripts/make_everyday_val.py --root ../shared/data/portrait_shen \
        --out data/everyday_val [--count 100] [--seed 0]

Then ``python -m facecolab evaluate --model MODEL --data data/everyday_val --raw
--dataset portrait --split val --aspect letterbox``.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facecolab.console import positive_int  # noqa: E402
from facecolab.data.everyday import write_everyday_set  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="EG1800-layout portraits (Shen et al.)")
    parser.add_argument("--out", required=True, help="output folder (portrait layout)")
    parser.add_argument("--count", type=positive_int, default=100, help="photos (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    args = parser.parse_args(argv)
    out = write_everyday_set(args.root, args.out, args.count, args.seed)
    print(f"wrote {args.count} everyday photos into {out}/val")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
