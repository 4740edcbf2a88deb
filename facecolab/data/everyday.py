"""An everyday-framing validation set for the portrait models, written by a seeded generator.

Portrait datasets are tightly framed, centred selfies; photos people take are not. This
generator cuts the people out of a validation split (Shen et al.'s portraits, by default the
``val`` split of ``readers.eg1800``, which training never sees) and composites one or two of
them onto a scene held aside from every training source: scikit-image's own photographs and
textures (``BACKGROUNDS``: a coffee cup, a cat, a rocket, a motorbike, the Hubble deep field,
grass, gravel, brick; none shows a person). Each person is scaled and placed by a
:class:`Framing`: ``NEAR`` (the default; Shen's head-and-shoulders portraits) scales them to
0.3–0.8 of the canvas height, the feet at or below the bottom edge as in a photo that cuts
people at the waist or knees; ``FAR`` (for full-body people: the ``ccp_fullbody`` validation
split) scales them to 0.2–0.5 of it, standing with their feet inside the photo, as people
away from the camera in a street. Either way off-centre (anywhere along the width), with a
one-pixel feathered edge; the label is the union of the pasted masks. Canvases are landscape
or portrait, 640×480.

Written in the ``portrait`` layout (``val/data/<key>.jpg``, ``val/label_1/<key>.png``, masks
0/1), so ``facecolab evaluate --raw --dataset portrait`` and every portrait tool read it;
``val/scenes.json`` maps each key to its scene's name (:func:`read_scenes`), so figures can be
split by scene. The same seed writes the same set.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from facecolab.data.imageio import read_image
from facecolab.data.readers import get_format
from facecolab.fsutil import atomic_write_bytes, read_json

BACKGROUNDS = (
    "coffee",
    "chelsea",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "grass",
    "gravel",
    "brick",
)
CANVASES = ((480, 640), (640, 480))  # (H, W): landscape and portrait photos
PAIR_PROBABILITY = 0.5
SCENES_FILE = "scenes.json"  # in the split folder: {key: scene name}


@dataclass(frozen=True)
class Framing:
    """How large people are and where they stand in an everyday photo.

    Attributes:
        heights: range of a person's height, as a fraction of the canvas height.
        feet: range of the person's bottom edge, as a fraction of the canvas height; ``None``:
            below the bottom edge by up to 0.3 of the person's height (cut at the waist or
            knees).
    """

    heights: tuple[float, float]
    feet: tuple[float, float] | None = None


NEAR = Framing(heights=(0.3, 0.8))
FAR = Framing(heights=(0.2, 0.5), feet=(0.6, 1.0))
FAR_SEED = 1  # the far set's seed (the near set's is 0), so the two draw different scenes
# How each validation set is written: {name: (the people's dataset, framing, seed)}.
SETS = {"near": ("eg1800", NEAR, 0), "far": ("ccp_fullbody", FAR, FAR_SEED)}


@dataclass(frozen=True)
class Cutout:
    """One person: ``image`` uint8 (h, w, 3) and ``mask`` bool (h, w), cropped to the mask."""

    image: np.ndarray
    mask: np.ndarray


def background_images() -> list[np.ndarray]:
    """The held-aside scenes, ``uint8 (H, W, 3)`` each (grey textures as RGB)."""
    import skimage.data

    scenes = []
    for name in BACKGROUNDS:
        image = getattr(skimage.data, name)()
        image = image[0] if isinstance(image, tuple) else image  # stereo pairs: the left view
        scenes.append(np.stack([image] * 3, -1) if image.ndim == 2 else image[..., :3])
    return scenes


def cutouts(dataset: str, root, split: str = "val") -> list[Cutout]:
    """The people of ``split`` of raw dataset ``dataset`` (a person / background layout),
    cropped to their masks."""
    fmt = get_format(dataset)
    people = []
    for item in fmt.list_items(root, split):
        image, mask = read_image(item.image_path), fmt.load_label(item) == 1
        if mask.shape != image.shape[:2]:
            mask = np.asarray(Image.fromarray(mask).resize(image.shape[1::-1], Image.NEAREST))
        rows, cols = np.nonzero(mask)
        if rows.size:
            box = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
            people.append(Cutout(image[box], mask[box]))
    return people


def _scene(rng: np.random.Generator, scenes: list[np.ndarray], size) -> tuple[np.ndarray, int]:
    """A random crop of a random scene, resized to ``size`` (H, W), maybe mirrored, and the
    scene's index."""
    index = int(rng.integers(len(scenes)))
    scene = scenes[index]
    height, width = size
    scale = max(height / scene.shape[0], width / scene.shape[1]) * rng.uniform(1.0, 1.5)
    resized = Image.fromarray(scene).resize(
        (int(np.ceil(scene.shape[1] * scale)), int(np.ceil(scene.shape[0] * scale))),
        Image.BILINEAR,
    )
    top = rng.integers(resized.height - height + 1)
    left = rng.integers(resized.width - width + 1)
    canvas = np.asarray(resized)[top : top + height, left : left + width]
    return (canvas[:, ::-1] if rng.uniform() < 0.5 else canvas), index


def _paste(canvas, label, person: Cutout, rng: np.random.Generator, framing: Framing) -> None:
    """Paste ``person`` onto ``canvas`` and ``label`` in place at a random size and place
    within ``framing``."""
    height, width = label.shape
    scale = rng.uniform(*framing.heights) * height / person.mask.shape[0]
    size = (max(int(person.mask.shape[1] * scale), 1), max(int(person.mask.shape[0] * scale), 1))
    image = np.asarray(Image.fromarray(person.image).resize(size, Image.BILINEAR))
    mask = Image.fromarray(person.mask.astype(np.uint8) * 255).resize(size, Image.BILINEAR)
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(1))) / 255.0
    hard = np.asarray(mask) >= 128
    left = int(rng.integers(-size[0] // 3, width - 2 * size[0] // 3))
    if framing.feet is None:
        bottom = int(height + rng.uniform(0.0, 0.3) * size[1])  # cut by the bottom edge
    else:
        bottom = int(rng.uniform(*framing.feet) * height)
    top = bottom - size[1]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + size[1], height), min(left + size[0], width)
    if y1 <= y0 or x1 <= x0:
        return
    part = slice(y0 - top, y1 - top), slice(x0 - left, x1 - left)
    weight = alpha[part][..., None]
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = (weight * image[part] + (1 - weight) * region).astype(np.uint8)
    label[y0:y1, x0:x1] |= hard[part]


def compose(
    rng: np.random.Generator,
    people: list[Cutout],
    scenes: list[np.ndarray],
    framing: Framing = NEAR,
):
    """One everyday photo: ``(uint8 (H, W, 3), uint8 (H, W) 0/1, index of its scene)``."""
    size = CANVASES[rng.integers(len(CANVASES))]
    canvas, scene = _scene(rng, scenes, size)
    canvas = canvas.copy()
    label = np.zeros(size, bool)
    count = 2 if rng.uniform() < PAIR_PROBABILITY else 1
    for index in rng.choice(len(people), count, replace=False):
        _paste(canvas, label, people[index], rng, framing)
    return canvas, label.astype(np.uint8), scene


def write_everyday_set(
    root,
    out,
    count: int = 100,
    seed: int = 0,
    dataset: str = "eg1800",
    split: str = "val",
    framing: Framing = NEAR,
) -> Path:
    """Write ``count`` everyday photos from the people of ``split`` of ``dataset`` in
    ``root``, sized and placed by ``framing``, into ``out/val/{data,label_1}/`` and return
    ``out``."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    people, scenes = cutouts(dataset, root, split), background_images()
    if len(people) < 2:
        raise ValueError(f"{root}: split {split!r} of {dataset} has fewer than two people")
    rng = np.random.default_rng(seed)
    out = Path(out)
    scene_of = {}
    for index in range(count):
        image, label, scene = compose(rng, people, scenes, framing)
        key = f"everyday_{index:04d}"
        atomic_write_bytes(out / "val" / "data" / f"{key}.jpg", _encoded(image, "JPEG"))
        atomic_write_bytes(out / "val" / "label_1" / f"{key}.png", _encoded(label, "PNG"))
        scene_of[key] = BACKGROUNDS[scene]
    text = json.dumps(scene_of, indent=0, sort_keys=True) + "\n"
    atomic_write_bytes(out / "val" / SCENES_FILE, text.encode())
    return out


def read_scenes(out) -> dict[str, str]:
    """``{key: scene name}`` of an everyday set written by :func:`write_everyday_set`.

    Raises:
        FileNotFoundError: a set written before scenes were recorded (write it again: the
            same seed gives the same photos).
    """
    path = Path(out) / "val" / SCENES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no scene record; write the set again with scripts/make_everyday_val.py"
        )
    return read_json(path)


def _encoded(array: np.ndarray, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, kind, **({"quality": 92} if kind == "JPEG" else {}))
    return buffer.getvalue()
