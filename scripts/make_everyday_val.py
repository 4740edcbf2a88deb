"""Write the everyday-framing validation set (``facecolab.data.everyday``): Shen et al.'s
validation people composited small, off-centre and in pairs onto held-aside scenes; with
``--far``, the full-body people of ``ccp_fullbody``'s validation split, standing away from the
camera (the evaluation's ``data/everyday_far_val``; ``--far`` seeds with ``FAR_SEED``, 1).

    python scripts/make_everyday_val.py --root ../shared/data/portrait_shen \
        --out data/everyday_val [--count 100] [--seed 0]
    python scripts/make_everyday_val.py --root ../shared/data/ccp_fullbody --far \
        --out data/everyday_far_val

Then ``python -m facecolab evaluate --model MODEL --data data/everyday_val --raw
--dataset portrait --split val --aspect letterbox``.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facecolab.console import positive_int  # noqa: E402
from facecolab.data.everyday import FAR_SEED, SETS, write_everyday_set  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        required=True,
        help="EG1800-layout portraits (Shen et al.), or with --far the ccp_fullbody folder",
    )
    parser.add_argument("--out", required=True, help="output folder (portrait layout)")
    parser.add_argument("--count", type=positive_int, default=100, help="photos (default 100)")
    parser.add_argument(
        "--seed", type=int, help=f"generator seed (default 0; with --far, {FAR_SEED})"
    )
    parser.add_argument(
        "--far", action="store_true", help="full-body people away from the camera (ccp_fullbody)"
    )
    args = parser.parse_args(argv)
    dataset, framing, seed = SETS["far" if args.far else "near"]
    seed = seed if args.seed is None else args.seed
    out = write_everyday_set(
        args.root, args.out, args.count, seed, dataset=dataset, framing=framing
    )
    print(f"wrote {args.count} everyday photos into {out}/val")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
