"""Portrait models and MediaPipe's selfie segmenter on portraits and on everyday framing,
scored on the same photos in one run.

Sets (validation only; the project keeps its test sets back):

* ``shen_val``: the validation portraits of Shen et al. (``eg1800`` val, 129 photos);
* ``ccp_val``: full-body street photos (``ccp_fullbody`` val, 100; scored inside the
  labelled person's box, whose bystanders are unlabelled);
* ``everyday``: the everyday-framing set of ``facecolab.data.everyday`` (validation people
  small, off-centre and in pairs on held-aside scenes; written on first use);
* ``everyday_far``: full-body people of ``ccp_fullbody``'s validation split standing away from
  the camera on the same scenes (``everyday.FAR``: 0.2–0.5 of the photo's height, the feet
  inside it; seed ``FAR_SEED``; written on first use).

Each row gives mIoU and person IoU over all the set's pixels, and the mean of each photo's own
person IoU ("per-photo"), which a few photos full of false positives cannot decide alone.
Our models run as the portrait app runs them with ``--no-reframe``
(``apps.inference.portrait_probability``: the photo letterboxed, the soft mask back at full
resolution, threshold 0.5; ``--reframe`` adds each model as the app runs it by default);
MediaPipe's general selfie model (256², from the ``mediapipe==0.10.21`` wheel, never
committed) runs in its own virtual environment through ``mediapipe_selfie_masks.py`` at each
photo's size::

    python benchmarks/eval_portrait_framing.py --data ../shared/data \
        --json benchmarks/results/portrait_framing.json [--models NAME_OR_PATH ...]

``--orientation landscape`` (or ``portrait``) scores only the photos of that shape (a set with
none is left out), e.g. a model exported at a landscape ``--input-size`` beside the shipped one.
``--by-scene`` adds a row per scene of the everyday sets (``everyday:<scene>``,
``everyday_far:<scene>``), so a model's failures can be told apart by what stands behind the
people; ``--reframe`` adds each model
with the portrait app's second look at the people found (``facecolab.workflows.reframe``;
``--min-region-share`` scores it with another share than the app's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from facecolab.data.everyday import SETS, read_scenes, write_everyday_set  # noqa: E402
from facecolab.data.imageio import read_image  # noqa: E402
from facecolab.data.readers import get_format  # noqa: E402
from facecolab.measures.metrics import confusion_matrix, iou, mean_iou  # noqa: E402
from facecolab.workflows.reframe import MIN_REGION_SHARE  # noqa: E402

DEFAULT_MODELS = ("p5_portrait_shen_mobilenetv2", "p5_portrait_shen_fast")
MEDIAPIPE = "MediaPipe selfie (general, 256²)"  # the peer's rows
THRESHOLD = 0.5


def photo_sets(data: Path, everyday: Path, everyday_far: Path) -> dict[str, list]:
    """``{set name: [(image path, uint8 label 0/1/255)]}``."""
    roots = {"eg1800": data / "portrait_shen", "ccp_fullbody": data / "ccp_fullbody"}
    for name, out in (("near", everyday), ("far", everyday_far)):
        dataset, framing, seed = SETS[name]
        if not (out / "val").is_dir():
            write_everyday_set(roots[dataset], out, seed=seed, dataset=dataset, framing=framing)
    sources = {
        "shen_val": ("eg1800", data / "portrait_shen"),
        "ccp_val": ("ccp_fullbody", data / "ccp_fullbody"),
        "everyday": ("portrait", everyday),
        "everyday_far": ("portrait", everyday_far),
    }
    sets = {}
    for name, (dataset, root) in sources.items():
        fmt = get_format(dataset)
        sets[name] = [
            (item.image_path, fmt.load_label(item)) for item in fmt.list_items(root, "val")
        ]
    return sets


def score(masks, photos) -> dict:
    """mIoU and person IoU of boolean ``masks`` against the labels of ``photos``, over all
    their pixels, and ``photo_person_iou``: the mean of each photo's own person IoU (photos
    where neither truth nor mask has a person left out), which a few photos full of false
    positives cannot decide alone."""
    cm = np.zeros((2, 2), np.int64)
    per_photo = []
    for mask, (_, label) in zip(masks, photos, strict=True):
        if mask.shape != label.shape:
            raise ValueError(f"a mask of {mask.shape} for a label of {label.shape}")
        photo_cm = confusion_matrix(label, mask.astype(np.uint8), 2)
        per_photo.append(iou(photo_cm)[1])
        cm += photo_cm
    return {
        "mean_iou": float(mean_iou(cm)),
        "person_iou": float(iou(cm)[1]),
        "photo_person_iou": float(np.nanmean(per_photo)) if np.any(~np.isnan(per_photo)) else None,
    }


def scored_rows(model: str, name: str, masks, photos, scene_of=None) -> list[dict]:
    """The row of one set, then (``scene_of``: ``{photo stem: scene}``) a row per scene."""
    rows = [{"model": model, "set": name, "photos": len(photos)} | score(masks, photos)]
    unrecorded = sorted({Path(path).stem for path, _ in photos} - set(scene_of or {}))
    if scene_of is not None and unrecorded:
        raise ValueError(
            f"{name}: no scene recorded for {', '.join(unrecorded[:3])}; write the set again "
            "with scripts/make_everyday_val.py into an empty folder"
        )
    for scene in sorted(set((scene_of or {}).values())):
        picked = [i for i, (path, _) in enumerate(photos) if scene_of[Path(path).stem] == scene]
        chosen = [photos[i] for i in picked]
        rows.append({"model": model, "set": f"{name}:{scene}", "photos": len(chosen)})
        rows[-1] |= score([masks[i] for i in picked], chosen)
    return rows


def our_masks(
    runner, photos, reframe: bool = False, min_region_share: float = MIN_REGION_SHARE
) -> list[np.ndarray]:
    from facecolab.apps.inference import portrait_probability

    return [
        portrait_probability(runner, read_image(path), reframe, min_region_share) >= THRESHOLD
        for path, _ in photos
    ]


def mediapipe_masks(photos, work: Path) -> list[np.ndarray]:
    from bench_inference import mediapipe_model, mediapipe_python

    wheel, model = mediapipe_model()
    work.mkdir(parents=True, exist_ok=True)
    listing = work / "photos.txt"
    listing.write_text("".join(f"{path}\n" for path, _ in photos))
    out = work / "masks"
    subprocess.run(
        [mediapipe_python(wheel), HERE / "mediapipe_selfie_masks.py", "--model", model]
        + ["--list", listing, "--out", out],
        check=True,
    )
    return [np.load(out / f"{index}.npy") >= THRESHOLD for index in range(len(photos))]


def main(argv=None) -> list[dict]:
    from facecolab.modelfiles.runner import load_runner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="folder of the raw datasets")
    parser.add_argument("--everyday", default="data/everyday_val", help="everyday set folder")
    parser.add_argument(
        "--everyday-far", default="data/everyday_far_val", help="far-away people set folder"
    )
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--no-mediapipe", action="store_true", help="our models only")
    parser.add_argument("--by-scene", action="store_true", help="everyday rows per scene too")
    parser.add_argument(
        "--reframe", action="store_true", help="each model also with its second look (reframed)"
    )
    parser.add_argument(
        "--min-region-share",
        type=float,
        default=MIN_REGION_SHARE,
        help="the second look frames person regions of at least this share of the largest "
        f"one's area (default {MIN_REGION_SHARE}; 0: every pixel called person)",
    )
    parser.add_argument(
        "--orientation",
        choices=("any", "landscape", "portrait"),
        default="any",
        help="score only the photos wider (landscape) or taller (portrait) than they are tall",
    )
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    sets = photo_sets(Path(args.data), Path(args.everyday), Path(args.everyday_far))
    if args.orientation != "any":
        landscape = args.orientation == "landscape"
        sets = {
            name: [
                (path, label)
                for path, label in photos
                if landscape == (label.shape[1] > label.shape[0])
            ]
            for name, photos in sets.items()
        }
        sets = {name: photos for name, photos in sets.items() if photos}
    scenes = {}
    if args.by_scene:
        scenes = {"everyday": read_scenes(args.everyday)}
        scenes["everyday_far"] = read_scenes(args.everyday_far)
    rows = []
    for model in args.models:
        runner = load_runner(model)
        for reframe in (False, True) if args.reframe else (False,):
            label = f"{model} (reframed)" if reframe else model
            for name, photos in sets.items():
                masks = our_masks(runner, photos, reframe, args.min_region_share)
                rows += scored_rows(label, name, masks, photos, scenes.get(name))
    if not args.no_mediapipe:
        with tempfile.TemporaryDirectory() as work:
            for name, photos in sets.items():
                masks = mediapipe_masks(photos, Path(work) / name)
                rows += scored_rows(MEDIAPIPE, name, masks, photos, scenes.get(name))
    print(
        "| model | set | photos | mIoU | person IoU | per-photo person IoU |\n"
        "|---|---|---:|---:|---:|---:|"
    )
    for row in rows:
        per_photo = row["photo_person_iou"]
        print(
            f"| {row['model']} | {row['set']} | {row['photos']} | {100 * row['mean_iou']:.2f} "
            f"| {100 * row['person_iou']:.2f} | "
            f"{'—' if per_photo is None else f'{100 * per_photo:.2f}'} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
