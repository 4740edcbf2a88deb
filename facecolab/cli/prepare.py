"""Command line for :func:`facecolab.data.prepare.prepare` (``data_prep/load_data.py``,
``facecolab prepare``): raw dataset folder in, prepared folder out, summary on stdout."""

from __future__ import annotations

import argparse
import sys

from facecolab.console import image_size, int_in, non_negative_int, positive_int
from facecolab.constants import MAX_WORKERS
from facecolab.data.labels import RELABEL_TABLES
from facecolab.data.prepare import PrepareOptions, PrepareSummary, prepare
from facecolab.data.readers import FORMATS
from facecolab.data.readers.base import DEFAULT_FRACTIONS, check_fractions
from facecolab.data.readers.face8 import format_from_json
from facecolab.data.resize import ASPECT_MODES
from facecolab.data.sample import write_sample
from facecolab.fsutil import describe

MAX_BAD_LINES = 20


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        return check_fractions(text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"split must be three non-negative fractions summing to 1, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Prepare a raw face-segmentation dataset: resized images, single-channel "
        "label maps, split lists and dataset.json. Reruns resume; files are written atomically.",
    )
    parser.add_argument("--dataset", required=True, choices=sorted(FORMATS), help="raw layout")
    parser.add_argument("--root", required=True, help="raw dataset folder")
    parser.add_argument("--out", required=True, help="prepared output folder")
    parser.add_argument(
        "--size", type=image_size, default=(256, 256), help="N or H,W (default 256)"
    )
    parser.add_argument(
        "--split",
        type=_fractions,
        default=DEFAULT_FRACTIONS,
        help="train,val,test fractions for layouts without an official split (default 0.7,0.2,0.1)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed for seeded splits")
    parser.add_argument(
        "--workers",
        type=int_in(1, MAX_WORKERS),
        default=None,
        help=f"processes (default: all cores; at most {MAX_WORKERS})",
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first bad item")
    parser.add_argument(
        "--aspect",
        choices=ASPECT_MODES,
        default="stretch",
        help="how images and label maps are fitted to --size: stretch, letterbox (pad: image "
        "black, label ignore) or crop (centre) (default stretch)",
    )
    parser.add_argument(
        "--sample",
        type=non_negative_int,
        metavar="N",
        default=0,
        help="first write a procedurally drawn sample of N images into --root",
    )
    parser.add_argument(
        "--sample-size",
        type=positive_int,
        default=128,
        metavar="PX",
        help="image side of the --sample images (default 128)",
    )
    parser.add_argument(
        "--merge-table",
        metavar="JSON",
        help="face8 only: another source→merged class table (see "
        "facecolab.data.readers.face8.format_from_json)",
    )
    parser.add_argument(
        "--relabel",
        choices=sorted(RELABEL_TABLES),
        help="write labels in another label set through a table of "
        "facecolab.data.labels.RELABEL_TABLES (e.g. celebamask_hq → helen)",
    )
    parser.add_argument("--img-prefix", help="celeba_face only: folder image paths are relative to")
    parser.add_argument(
        "--label-prefix", help="celeba_face only: folder mask paths are relative to"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def format_summary(name: str, out, size, aspect: str, summary: PrepareSummary) -> str:
    """Human-readable report: items per split, written/skipped, bad items by file."""
    lines = [f"prepared {name} into {out} ({size[0]}x{size[1]}, {aspect})"]
    lines += [f"  {split:<6} {count:>7} items" for split, count in summary.counts.items()]
    lines.append(
        f"  written {summary.written}, skipped (already done) {summary.skipped}, "
        f"bad {len(summary.bad)}"
    )
    for key, file, reason in summary.bad[:MAX_BAD_LINES]:
        lines.append(f"  bad {key}: {file}: {reason}" if file else f"  bad {key}: {reason}")
    if len(summary.bad) > MAX_BAD_LINES:
        lines.append(f"  ... {len(summary.bad) - MAX_BAD_LINES} more in dataset.json")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.merge_table and args.dataset != "face8":
        parser.error("--merge-table applies to --dataset face8 only")
    if (args.img_prefix or args.label_prefix) and args.dataset != "celeba_face":
        parser.error("--img-prefix / --label-prefix apply to --dataset celeba_face only")
    try:
        if args.sample:
            write_sample(
                args.dataset, args.root, count=args.sample, size=args.sample_size, seed=args.seed
            )
        dataset = format_from_json(args.merge_table) if args.merge_table else args.dataset
        format_options = {
            k: v
            for k, v in (("img_prefix", args.img_prefix), ("label_prefix", args.label_prefix))
            if v
        }
        options = PrepareOptions(
            size=args.size,
            aspect=args.aspect,
            fractions=args.split,
            seed=args.seed,
            format_options=format_options,
            relabel=args.relabel,
        )
        summary = prepare(
            dataset,
            args.root,
            args.out,
            options,
            workers=args.workers,
            strict=args.strict,
            progress=not args.no_progress,
        )
    except (OSError, ValueError) as error:
        print(f"error: {describe(error)}", file=sys.stderr)
        return 2  # a user error, as argparse's usage errors (facecolab.cli.main: exit codes)
    print(format_summary(args.dataset, args.out, args.size, args.aspect, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
