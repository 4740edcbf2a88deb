"""Data-preparation throughput (images/s) on the CelebAMask-HQ layout: one worker vs all cores.

Writes a procedurally drawn CelebAMask-HQ sample (by default at the release's resolution:
images 1024², 18 part masks 512²), then prepares it to 256² twice from scratch, with
``workers=1`` and with every core, in one run::

    python benchmarks/bench_prepare.py --count 32 --out bench_prepare.json

Prints a markdown table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _report import machine_info, markdown_table, report  # noqa: E402

from facecolab.data.prepare import PrepareOptions, prepare  # noqa: E402
from facecolab.data.sample import write_sample  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32, help="images in the sample")
    parser.add_argument("--size", type=int, default=1024, help="sample image side (parts: half)")
    parser.add_argument("--out-size", type=int, default=256, help="prepared side")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="the 'all cores' setting (default: os.cpu_count())",
    )
    parser.add_argument("--out", help="write the results as JSON to this file")
    return parser


def time_prepare(root: Path, out: Path, workers: int, size: int) -> dict:
    """Prepare ``root`` into a fresh ``out`` and time it."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = prepare(
        "celebamask_hq",
        root,
        out,
        PrepareOptions(size=(size, size)),
        workers=workers,
        progress=False,
    )
    seconds = time.perf_counter() - start
    if summary.bad or summary.written != sum(summary.counts.values()):
        raise RuntimeError(f"benchmark run was not clean: {summary}")
    return {
        "workers": workers,
        "images": summary.written,
        "seconds": round(seconds, 3),
        "images_per_s": round(summary.written / seconds, 2),
    }


def markdown(rows: list[dict]) -> str:
    base = rows[0]["images_per_s"]
    return markdown_table(
        ["workers", "images", "seconds", "images/s", "speed-up"],
        "{workers} | {images} | {seconds:.2f} | {images_per_s:.1f} | {speed_up:.2f}x",
        [{**r, "speed_up": r["images_per_s"] / base} for r in rows],
        text_columns=0,
    )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        write_sample("celebamask_hq", tmp / "raw", count=args.count, size=args.size)
        sample_seconds = time.perf_counter() - start
        rows = [
            time_prepare(tmp / "raw", tmp / f"out{workers}", workers, args.out_size)
            for workers in dict.fromkeys((1, args.workers))
        ]
    result = {
        "benchmark": "prepare celebamask_hq",
        "image_size": args.size,
        "part_size": args.size // 2,
        "prepared_size": args.out_size,
        "sample_write_seconds": round(sample_seconds, 3),
        **machine_info(),
        "runs": rows,
    }
    headline = (
        f"prepare celebamask_hq: {args.count} images {args.size}² (parts {args.size // 2}²) "
        f"→ {args.out_size}², {os.cpu_count()} cores; sample written in "
        f"{sample_seconds:.1f} s"
    )
    report(markdown(rows), result, args.out, headline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
