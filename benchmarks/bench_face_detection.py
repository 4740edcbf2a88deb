"""Which face detector finds the faces the face-parsing models need: scikit-image's LBP
cascade (what ``apps/photo.py`` used before) against MediaPipe's BlazeFace short-range model
as ``facecolab.workflows.face_detection`` runs it (TFLite interpreter, numpy decoding and
weighted NMS; whole photo only, and with its window pyramid).

Photos: real faces with exactly one face each, ``--count`` of CelebAMask-HQ mini
(``CelebA-HQ-img``, 512²) and of LFW Part Labels (``lfw_funneled``, 250²) from
``../shared/data`` (never in the repository). Scales: ``full`` = the photo as it is; ``1/2``,
``1/3``, ``1/5`` = the photo shrunk to that share of the width of a 640×480 canvas (a webcam
frame; backgrounds: scikit-image's coffee, chelsea (a cat), rocket and hubble photos) at a
random place.

A detection is the face when its box centre lies within 0.15 photo widths of the face centre
of the aligned photo (CelebA-HQ: 0.5 across, 0.55 down; LFW: the middle) and its side is
0.25-0.9 photo widths. ``found`` = share of photos whose largest detection is the face;
``extra`` = other detections per photo (false alarms, as every photo has one face); ``ms`` =
median wall time of one ``detect`` call. The script also measures where BlazeFace puts the
box around each aligned photo's face (the framing: crop side / box side; the shift: crop
centre below the box centre, in crop sides) that reproduce a training crop: on the full
frames ("framing_blazeface"), and where they are used, the photos staged at each scale and
the face found as ``facecolab.workflows.faces.face_crops`` finds it ("framing_in_photos";
its "used" medians are ``facecolab.workflows.faces.FRAMINGS``; ``--framing-only`` measures
just these).

    python benchmarks/bench_face_detection.py --json benchmarks/results/face_detection.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from _report import load_average, markdown_table, report_run  # noqa: E402

from facecolab.data.imageio import read_image  # noqa: E402
from facecolab.data.resize import resize_image  # noqa: E402
from facecolab.workflows.face_detection import FaceDetector  # noqa: E402
from facecolab.workflows.faces import FRAMINGS, framing_box  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SOURCES = {
    "celebamask_hq": (DATA / "celebamask_mini" / "CelebA-HQ-img", "*.jpg", 0.55),
    "lfw_parts": (DATA / "lfw_parts" / "lfw_funneled", "*/*.jpg", 0.5),
}
CANVAS = (480, 640)
SCALES = {"full": None, "1/2": 1 / 2, "1/3": 1 / 3, "1/5": 1 / 5}
BACKGROUNDS = ("coffee", "chelsea", "rocket", "hubble_deep_field")


class LbpCascade:
    """scikit-image's bundled LBP frontal-face cascade, as ``apps/photo.py`` ran it."""

    def __init__(self, min_size: int = 40):
        from skimage import data
        from skimage.feature import Cascade

        self.cascade = Cascade(data.lbp_frontal_face_cascade_filename())
        self.min_size = min_size

    def detect(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        side = min(image.shape[:2])
        faces = self.cascade.detect_multi_scale(
            img=image,
            scale_factor=1.2,
            step_ratio=1,
            min_size=(self.min_size, self.min_size),
            max_size=(side, side),
        )
        boxes = [(f["r"], f["c"], f["height"], f["width"]) for f in faces]
        return sorted(boxes, key=lambda b: -b[2] * b[3])


class BlazeFace:
    def __init__(self, levels: int):
        self.detector = FaceDetector(levels=levels)

    def detect(self, image):
        return [(f.top, f.left, f.height, f.width) for f in self.detector.detect(image)]


def photos(count: int) -> dict[str, list[np.ndarray]]:
    """``count`` photos per dataset, spread evenly over its sorted files."""
    found = {}
    for name, (folder, pattern, _) in SOURCES.items():
        files = sorted(folder.glob(pattern))
        if not files:
            raise SystemExit(f"{folder}: no photos (research data beside the checkout)")
        picks = np.linspace(0, len(files) - 1, count).round().astype(int)
        found[name] = [read_image(files[i]) for i in picks]
    return found


def backgrounds() -> list[np.ndarray]:
    from skimage import data

    scenes = []
    for name in BACKGROUNDS:
        scene = np.asarray(getattr(data, name)())
        scene = np.stack([scene] * 3, -1) if scene.ndim == 2 else scene[..., :3]
        scenes.append(resize_image(scene, CANVAS, "crop"))
    return scenes


def staged(photo, scale, scene, rng):
    """``(image, (top, left, width))``: ``photo`` at ``scale`` and where it lies."""
    if scale is None:
        return photo, (0, 0, photo.shape[1])
    width = round(CANVAS[1] * scale)
    height = round(photo.shape[0] * width / photo.shape[1])
    small = resize_image(photo, (height, width))
    top = int(rng.integers(0, CANVAS[0] - height + 1))
    left = int(rng.integers(0, CANVAS[1] - width + 1))
    canvas = scene.copy()
    canvas[top : top + height, left : left + width] = small
    return canvas, (top, left, width)


def is_face(box, centre, width) -> bool:
    top, left, height, side = box
    cy, cx = top + height / 2, left + side / 2
    near = np.hypot(cy - centre[0], cx - centre[1]) <= 0.15 * width
    return bool(near and 0.25 * width <= max(height, side) <= 0.9 * width)


def measure(detectors, sets, scenes, seed: int = 0) -> list[dict]:
    rows = []
    for dataset, images in sets.items():
        down = SOURCES[dataset][2]
        for scale_name, scale in SCALES.items():
            rng = np.random.default_rng(seed)
            cases = []
            for i, photo in enumerate(images):
                image, (top, left, width) = staged(photo, scale, scenes[i % len(scenes)], rng)
                height = width * photo.shape[0] / photo.shape[1]
                cases.append((image, (top + down * height, left + width / 2), width))
            for name, detector in detectors.items():
                hits, extra, times = 0, 0, []
                for image, centre, width in cases:
                    start = time.perf_counter()
                    boxes = detector.detect(image)
                    times.append(time.perf_counter() - start)
                    hit = bool(boxes) and is_face(boxes[0], centre, width)
                    hits += hit
                    extra += len(boxes) - hit
                rows.append(
                    {
                        "dataset": dataset,
                        "scale": scale_name,
                        "detector": name,
                        "photos": len(cases),
                        "found": hits / len(cases),
                        "extra": extra / len(cases),
                        "ms": 1000 * statistics.median(times),
                    }
                )
                print(markdown_table(HEADER, ROW, rows[-1:], 3).splitlines()[-1], flush=True)
    return rows


def framings(detector: BlazeFace, sets) -> dict:
    """Per dataset, the median BlazeFace box on the aligned full photos as the framing
    (photo width / box side) and the shift ((photo centre − box centre) / photo width)."""
    result = {}
    for dataset, images in sets.items():
        ratios, shifts = [], []
        for image in images:
            boxes = detector.detect(image)
            if not boxes:
                continue
            top, left, height, width = boxes[0]
            ratios.append(image.shape[1] / max(height, width))
            shifts.append((image.shape[0] / 2 - (top + height / 2)) / image.shape[1])
        result[dataset] = {
            "framing": round(statistics.median(ratios), 3),
            "shift": round(statistics.median(shifts), 3),
            "faces": len(ratios),
        }
    return result


def framings_in_photos(detector: BlazeFace, sets, scenes, seed: int = 0) -> dict:
    """Per dataset and per scale of :data:`SCALES`, the framing and shift of
    :func:`framings`, measured where they are used: each aligned photo staged in a wider
    photo (:func:`staged`), its face found as ``facecolab.workflows.faces.face_crops`` finds
    it (window pyramid, then detected again in a crop framed per ``FRAMINGS``); ``"used"``:
    the median over the staged scales (``full`` left out). Where it matches
    :func:`framings`, ``FRAMINGS`` holds wherever a face is."""
    result = {}
    for dataset, images in sets.items():
        down = SOURCES[dataset][2]
        per_scale, pooled = {}, ([], [])
        for scale_name, scale in SCALES.items():
            rng = np.random.default_rng(seed)
            ratios, shifts = [], []
            for i, photo in enumerate(images):
                image, (top, left, width) = staged(photo, scale, scenes[i % len(scenes)], rng)
                height = width * photo.shape[0] / photo.shape[1]
                centre = (top + down * height, left + width / 2)
                faces = detector.detector.detect(image)
                faces = [
                    f for f in faces if is_face((f.top, f.left, f.height, f.width), centre, width)
                ]
                if not faces:
                    continue
                face = detector.detector.refine(image, framing_box(faces[0], *FRAMINGS[dataset]))
                face = face or faces[0]
                b_top, b_height, b_width = face.top, face.height, face.width
                ratios.append(width / max(b_height, b_width))
                shifts.append((top + height / 2 - (b_top + b_height / 2)) / width)
            per_scale[scale_name] = {
                "framing": round(statistics.median(ratios), 3),
                "shift": round(statistics.median(shifts), 3),
                "faces": len(ratios),
            }
            if scale is not None:
                pooled[0].extend(ratios)
                pooled[1].extend(shifts)
        per_scale["used"] = {
            "framing": round(statistics.median(pooled[0]), 3),
            "shift": round(statistics.median(pooled[1]), 3),
            "faces": len(pooled[0]),
        }
        result[dataset] = per_scale
    return result


HEADER = ["dataset", "scale", "detector", "photos", "found", "extra / photo", "ms"]
ROW = "{dataset} | {scale} | {detector} | {photos} | {found:.2f} | {extra:.2f} | {ms:.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="photos per dataset")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument(
        "--framing-only",
        action="store_true",
        help="measure the framings only (no detector comparison) and print them",
    )
    args = parser.parse_args(argv)
    load_before = load_average()
    sets, scenes = photos(args.count), backgrounds()
    blaze = BlazeFace(levels=3)
    if args.framing_only:
        print("aligned photos:", framings(blaze, sets))
        print("staged in photos:", framings_in_photos(blaze, sets, scenes))
        return 0
    detectors = {"lbp_cascade": LbpCascade(), "blazeface_whole": BlazeFace(1), "blazeface": blaze}
    for detector in detectors.values():  # warm up
        detector.detect(sets["lfw_parts"][0])
    rows = measure(detectors, sets, scenes)
    settings = {
        "benchmark": "face_detection",
        "canvas": list(CANVAS),
        "backgrounds": list(BACKGROUNDS),
        "framing_blazeface": framings(blaze, sets),
        "framing_in_photos": framings_in_photos(blaze, sets, scenes),
    }
    print("BlazeFace framing of the aligned photos:", settings["framing_blazeface"])
    table = markdown_table(HEADER, ROW, rows, 3)
    headline = f"face detection, {args.count} photos per dataset"
    report_run(settings, rows, table, headline, args.json, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
