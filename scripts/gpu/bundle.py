"""Move prepared data to a lent GPU machine and trained weights back, within its transfer
limits (64 MiB up, 8 files of ≤ 16 MiB down). Used by ``scripts/gpu/train_plan.py``
(``--data``), which also packs what comes back; not part of the package.

    pack     prepared folders → a small bundle (WebP images, 1-bit PNG masks for 2 classes)
    unpack   bundle → prepared folders (JPEG q95, as ``prepare`` writes), then the relabelled
             CelebAMask-HQ folders by ``facecolab.data.prepare.relabel_prepared``
"""

from __future__ import annotations

import argparse
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

WEBP_QUALITY = 80
RELABELLED = ("celeba_face", "face8", "helen")


def _to_webp(job):
    source, target, quality = job
    with Image.open(source) as image:
        image.convert("RGB").save(target, "WEBP", quality=quality, method=4)


def _to_jpeg(job):
    source, target = job
    with Image.open(source) as image:
        image.convert("RGB").save(target, "JPEG", quality=95)


def _binary_png(job):
    source, target = job
    with Image.open(source) as label:
        array = np.asarray(label)
    if array.max() <= 1:
        Image.fromarray(array.astype(bool)).save(target, optimize=True)  # mode "1"
    else:
        shutil.copyfile(source, target)


def _copy_meta(source: Path, target: Path) -> None:
    (target / "images").mkdir(parents=True, exist_ok=True)
    (target / "labels").mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / "splits", target / "splits", dirs_exist_ok=True)
    shutil.copyfile(source / "dataset.json", target / "dataset.json")


def pack(folders: list[Path], bundle: Path, quality: int = WEBP_QUALITY) -> None:
    with ProcessPoolExecutor() as pool:
        for folder in folders:
            target = bundle / folder.name
            _copy_meta(folder, target)
            images = sorted((folder / "images").glob("*.jpg"))
            jobs = [(p, target / "images" / f"{p.stem}.webp", quality) for p in images]
            list(pool.map(_to_webp, jobs))
            labels = sorted((folder / "labels").glob("*.png"))
            list(pool.map(_binary_png, [(p, target / "labels" / p.name) for p in labels]))


def unpack(bundle: Path, data: Path) -> None:
    from facecolab.data.prepare import relabel_prepared

    with ProcessPoolExecutor() as pool:
        for folder in sorted(p for p in bundle.iterdir() if (p / "dataset.json").exists()):
            target = data / folder.name
            _copy_meta(folder, target)
            images = sorted((folder / "images").glob("*.webp"))
            list(pool.map(_to_jpeg, [(p, target / "images" / f"{p.stem}.jpg") for p in images]))
            for label in sorted((folder / "labels").glob("*.png")):
                with Image.open(label) as image:
                    Image.fromarray(np.asarray(image).astype(np.uint8)).save(
                        target / "labels" / label.name
                    )
            if json.loads((folder / "dataset.json").read_text())["spec"]["name"] == "celebamask_hq":
                for relabel in RELABELLED:
                    relabel_prepared(target, data / f"{folder.name}_{relabel}", relabel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("bundle", type=Path)
    p.add_argument("folders", type=Path, nargs="+")
    p.add_argument("--webp-quality", type=int, default=WEBP_QUALITY)
    u = sub.add_parser("unpack")
    u.add_argument("bundle", type=Path)
    u.add_argument("data", type=Path)
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.folders, args.bundle, args.webp_quality)
    else:
        unpack(args.bundle, args.data)


if __name__ == "__main__":
    main()
