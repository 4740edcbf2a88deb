"""Miniature copies of every supported dataset, drawn procedurally, in their raw layouts.

One generator (:func:`render_face`) draws a cartoon face and its CelebAMask-HQ-style 19-class
"truth" map; each dataset's files are derived from that truth through a lookup table
(``TRUTH_TABLES``) and written in the dataset's own on-disk layout, so the readers and
``prepare`` run on a sample exactly as on the real data. Everything is deterministic given
``seed`` (item ``i`` is drawn from ``np.random.default_rng((seed, i))``).

Orientation: the datasets' own convention (see :mod:`facecolab.data.specs`): ``l_*`` is the
subject's left, drawn on the image's right (larger x), as in real CelebAMask-HQ maps. Left
and right parts also differ in shape and colour (e.g. iris colour, ear shape, brow arch), so
a model can tell them apart beyond their position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facecolab.data.labels import FACE8_SOURCE_CLASSES
from facecolab.data.resize import resize_mask
from facecolab.data.specs import CELEBAMASK_HQ_CLASSES, HELEN_CLASSES, get_spec

TRUTH_CLASSES = CELEBAMASK_HQ_CLASSES
_ID = {name: i for i, name in enumerate(TRUTH_CLASSES)}
# ``u`` sign of the subject's left and right sides: the left is on the image's right.
LEFT, RIGHT = 1.0, -1.0
_INNER_FACE = ("nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "mouth", "u_lip", "l_lip")


def _table(pairs: Mapping[str, int]) -> np.ndarray:
    """``uint8 (256,)`` LUT from truth ids to a dataset's ids; unnamed truth classes → 0."""
    lut = np.zeros(256, dtype=np.uint8)
    for name, target in pairs.items():
        lut[_ID[name]] = target
    return lut


_FACE8_ALIASES = {"ear_r": "earring", "neck_l": "neck"}
_HELEN_NAMES = {
    "skin": "face",
    "l_ear": "face",
    "r_ear": "face",
    "eye_g": "face",
    "l_brow": "lb",
    "r_brow": "rb",
    "l_eye": "le",
    "r_eye": "re",
    "nose": "nose",
    "u_lip": "ulip",
    "mouth": "imouth",
    "l_lip": "llip",
    "hair": "hair",
}

# Truth (CelebAMask-HQ ids) → each dataset's raw ids, before any on-disk encoding.
TRUTH_TABLES: dict[str, np.ndarray] = {
    "celebamask_hq": np.arange(256, dtype=np.uint8),
    "celeba_face": _table(dict.fromkeys(("skin", "l_ear", "r_ear", *_INNER_FACE), 1)),
    "face8": _table(
        {
            name: FACE8_SOURCE_CLASSES.index(_FACE8_ALIASES.get(name, name))
            for name in TRUTH_CLASSES[1:]
        }
    ),
    "helen": _table({k: HELEN_CLASSES.index(v) for k, v in _HELEN_NAMES.items()}),
    "portrait": _table(dict.fromkeys(TRUTH_CLASSES[1:], 1)),
    "eg1800": _table(dict.fromkeys(TRUTH_CLASSES[1:], 1)),
    "lfw_parts": _table(
        dict.fromkeys(("skin", "l_ear", "r_ear", "neck", *_INNER_FACE), 1) | {"hair": 2}
    ),
}


# ---------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Shape:
    """One PIL drawing call; ``class_id=None`` draws on the image only (a detail)."""

    kind: str  # "ellipse", "polygon", "chord", "arc", "ring", "line"
    xy: tuple
    class_id: int | None
    colour: tuple[int, int, int]
    width: int = 0
    angles: tuple[float, float] = (0, 360)


@dataclass(frozen=True)
class _Frame:
    """Face coordinates: ``u`` across, ``v`` down, in half face widths / heights from the
    face centre, so the drawing code reads as proportions."""

    cx: float
    cy: float
    rx: float
    ry: float
    line: int

    def points(self, *uv) -> tuple:
        return tuple((self.cx + u * self.rx, self.cy + v * self.ry) for u, v in uv)

    @staticmethod
    def side(sign: float, *uv) -> tuple:
        """``uv`` points given with ``u`` measured outwards from the centre line, placed on
        side ``sign`` (``LEFT`` or ``RIGHT``)."""
        return tuple((sign * u, v) for u, v in uv)

    def box(self, u, v, hu, hv) -> tuple:
        (x0, y0), (x1, y1) = self.points((u - hu, v - hv), (u + hu, v + hv))
        return (x0, y0, x1, y1)


def _jitter(rng, colour, amount=12):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _scale(colour, factor):
    return tuple(int(min(255, c * factor)) for c in colour)


def _random_colour(rng):
    return tuple(int(v) for v in rng.integers(20, 235, 3))


SKIN_TONES = ((241, 200, 170), (224, 172, 135), (198, 134, 95), (141, 85, 56), (255, 219, 190))
HAIR_COLOURS = ((30, 22, 18), (90, 56, 30), (160, 110, 60), (220, 190, 120), (120, 120, 120))
GOLD = (212, 175, 55)


def _body(f: _Frame, rng, skin) -> list[_Shape]:
    shapes = [
        _Shape("ellipse", f.box(0, 2.25, 2.3, 1.15), _ID["cloth"], _random_colour(rng)),
        _Shape(
            "polygon",
            f.points((-0.42, 0.4), (0.42, 0.4), (0.5, 1.4), (-0.5, 1.4)),
            _ID["neck"],
            _scale(skin, 0.9),
        ),
    ]
    if rng.random() < 0.3:
        shapes.append(
            _Shape("arc", f.box(0, 0.75, 0.48, 0.4), _ID["neck_l"], GOLD, f.line, (20, 160))
        )
    return shapes


def _ears(f: _Frame, rng, skin) -> list[_Shape]:
    """Left ear an ellipse, right ear an angular polygon; optional earrings."""
    shapes = [
        _Shape("ellipse", f.box(LEFT, 0.02, 0.2, 0.26), _ID["l_ear"], _scale(skin, 0.92)),
        _Shape(
            "polygon",
            f.points(*f.side(RIGHT, (0.9, -0.28), (1.2, -0.18), (1.14, 0.22), (0.9, 0.3))),
            _ID["r_ear"],
            _scale(skin, 0.86),
        ),
    ]
    if rng.random() < 0.3:
        shapes += [
            _Shape("ellipse", f.box(u, 0.35, 0.06, 0.05), _ID["ear_r"], GOLD) for u in (-1.05, 1.05)
        ]
    return shapes


def _hair_or_hat(f: _Frame, rng, hair) -> list[_Shape]:
    """Hair cap (flat side = hairline), a hat, or bald."""
    if rng.random() < 0.15:
        colour = _random_colour(rng)
        return [
            _Shape("chord", f.box(0, -0.45, 1.05, 0.95), _ID["hat"], colour, angles=(180, 360)),
            _Shape(
                "polygon",
                f.points((-1.4, -0.5), (1.4, -0.5), (1.4, -0.42), (-1.4, -0.42)),
                _ID["hat"],
                _scale(colour, 0.8),
            ),
        ]
    if rng.random() < 0.1:
        return []
    hairline = -rng.uniform(0.25, 0.5)
    return [
        _Shape(
            "chord", f.box(0, hairline, 1.1, hairline + 1.15), _ID["hair"], hair, angles=(180, 360)
        )
    ]


def _brows(f: _Frame, hair) -> list[_Shape]:
    """Left brow straight, thick and rising outwards; right brow a thin, lighter arch."""
    brow = _scale(hair, 0.8)
    left = f.side(LEFT, (0.67, -0.39), (0.17, -0.33), (0.17, -0.27), (0.67, -0.31))
    right = f.side(
        RIGHT,
        (0.17, -0.3),
        (0.42, -0.4),
        (0.67, -0.29),
        (0.67, -0.26),
        (0.42, -0.34),
        (0.17, -0.25),
    )
    return [
        _Shape("polygon", f.points(*left), _ID["l_brow"], brow),
        _Shape(
            "polygon",
            f.points(*right),
            _ID["r_brow"],
            _scale(brow, 1.15),
        ),
    ]


def _eyes(f: _Frame) -> list[_Shape]:
    """Left eye rounder with a blue iris, right eye narrower with a green one."""
    shapes = []
    for u, name, (hu, hv), iris in (
        (0.4 * LEFT, "l_eye", (0.19, 0.08), (60, 95, 170)),
        (0.4 * RIGHT, "r_eye", (0.22, 0.065), (70, 130, 60)),
    ):
        radius_u = hv * f.ry / f.rx  # a circle as tall as the eye
        shapes += [
            _Shape("ellipse", f.box(u, -0.14, hu, hv), _ID[name], (240, 240, 232)),
            _Shape("ellipse", f.box(u, -0.14, 0.8 * radius_u, 0.8 * hv), None, iris),
            _Shape("ellipse", f.box(u, -0.14, 0.35 * radius_u, 0.35 * hv), None, (15, 15, 15)),
        ]
    return shapes


def _mouth(f: _Frame, rng) -> list[_Shape]:
    """Upper and lower lip; an open mouth shows the inner mouth between them."""
    v, half = 0.45, 0.33 * rng.uniform(0.85, 1.15)
    gap = 0.06 if rng.random() < 0.4 else 0.0
    top, bottom = v - gap / 2, v + gap / 2
    inner = [_Shape("ellipse", f.box(0, v, 0.85 * half, 0.75 * gap), _ID["mouth"], (80, 20, 30))]
    return (inner if gap else []) + [
        _Shape(
            "polygon",
            f.points(
                (-half, v),
                (-0.45 * half, top - 0.09),
                (0, top - 0.05),
                (0.45 * half, top - 0.09),
                (half, v),
                (0, top),
            ),
            _ID["u_lip"],
            (170, 60, 75),
        ),
        _Shape(
            "polygon",
            f.points(
                (-half, v),
                (0, bottom),
                (half, v),
                (0.5 * half, bottom + 0.1),
                (-0.5 * half, bottom + 0.1),
            ),
            _ID["l_lip"],
            (205, 90, 100),
        ),
    ]


def _glasses(f: _Frame) -> list[_Shape]:
    frame, glasses = (25, 25, 30), _ID["eye_g"]
    return [
        *(_Shape("ring", f.box(u, -0.14, 0.3, 0.15), glasses, frame, f.line) for u in (-0.4, 0.4)),
        _Shape("line", f.points((-0.1, -0.14), (0.1, -0.14)), glasses, frame, f.line),
        _Shape("line", f.points((-0.7, -0.14), (-0.98, -0.19)), glasses, frame, f.line),
        _Shape("line", f.points((0.7, -0.14), (0.98, -0.19)), glasses, frame, f.line),
    ]


def _face_shapes(rng: np.random.Generator, height: int, width: int) -> list[_Shape]:
    """Back-to-front drawing list of one random face centred in a ``height × width`` canvas."""
    side = min(height, width)
    rx = side * rng.uniform(0.19, 0.24)
    f = _Frame(
        cx=width / 2 + rng.normal(0, 0.03 * side),
        cy=height / 2 + rng.normal(0, 0.03 * side) - 0.03 * side,
        rx=rx,
        ry=rx * rng.uniform(1.2, 1.35),
        line=max(1, round(side / 90)),
    )
    skin = _jitter(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))])
    hair = _jitter(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))])
    back_hair = rng.random() < 0.5  # long hair behind the head
    shapes = _body(f, rng, skin)
    if back_hair:
        shapes.append(
            _Shape("ellipse", f.box(0, rng.uniform(-0.2, 0.2), 1.3, 1.2), _ID["hair"], hair)
        )
    shapes += _ears(f, rng, skin)
    shapes.append(_Shape("ellipse", f.box(0, 0, 1, 1), _ID["skin"], skin))
    shapes += _hair_or_hat(f, rng, hair) + _brows(f, hair) + _eyes(f)
    shapes.append(
        _Shape(
            "polygon",
            f.points((0, -0.1), (-0.14, 0.22), (0.14, 0.22)),
            _ID["nose"],
            _scale(skin, 0.82),
        )
    )
    shapes += _mouth(f, rng)
    return shapes + (_glasses(f) if rng.random() < 0.25 else [])


def _draw(draw: ImageDraw.ImageDraw, shape: _Shape, fill) -> None:
    if shape.kind == "ellipse":
        draw.ellipse(shape.xy, fill=fill)
    elif shape.kind == "ring":
        draw.ellipse(shape.xy, outline=fill, width=shape.width)
    elif shape.kind == "polygon":
        draw.polygon(shape.xy, fill=fill)
    elif shape.kind == "chord":
        draw.chord(shape.xy, *shape.angles, fill=fill)
    elif shape.kind == "arc":
        draw.arc(shape.xy, *shape.angles, fill=fill, width=shape.width)
    elif shape.kind == "line":
        draw.line(shape.xy, fill=fill, width=shape.width)
    else:
        raise ValueError(f"unknown shape kind {shape.kind!r}")


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """``float32 (H, W, 3)`` textured background: two-colour gradient, stripes, noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y /= max(height, 1)
    x /= max(width, 1)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)), 0, 1)
    colours = rng.integers(0, 256, (2, 3)).astype(np.float32)
    image = colours[0] + ramp[..., None] * (colours[1] - colours[0])
    frequency, tilt = rng.uniform(8, 30), rng.uniform(0, np.pi)
    stripes = np.sin(frequency * (np.cos(tilt) * x + np.sin(tilt) * y) * np.pi)
    return image + rng.uniform(10, 35) * stripes[..., None]


def render_face(seed: int, index: int, shape=(128, 128)) -> tuple[np.ndarray, np.ndarray]:
    """Draw sample face ``index`` of ``seed``.

    Args:
        shape: ``(height, width)``; the face is centred and scaled to the shorter side.

    Returns:
        ``(image uint8 (H, W, 3) RGB, truth uint8 (H, W))``; truth holds CelebAMask-HQ ids
        (``TRUTH_CLASSES``): the class of the front-most shape at each pixel.
    """
    height, width = int(shape[0]), int(shape[1])
    rng = np.random.default_rng((seed, index))
    shapes = _face_shapes(rng, height, width)
    canvas = Image.fromarray(np.clip(_background(rng, height, width), 0, 255).astype(np.uint8))
    truth = Image.new("L", (width, height), 0)
    paint, label = ImageDraw.Draw(canvas), ImageDraw.Draw(truth)
    for item in shapes:
        _draw(paint, item, item.colour)
        if item.class_id is not None:
            _draw(label, item, item.class_id)
    truth = np.asarray(truth)
    image = np.asarray(canvas).astype(np.float32)
    # Light from one side, hair strands, sensor noise: texture the flat colours.
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / max(height, width)
    light = 1 + 0.18 * (np.cos(rng.uniform(0, 2 * np.pi)) * (x - 0.5) + (0.5 - y) * 0.5)
    hair = truth == _ID["hair"]
    strands = 0.8 + 0.2 * np.sin(x * rng.uniform(150, 260) + 6 * np.sin(y * 9))
    image *= np.where(hair, strands, 1.0)[..., None] * light[..., None]
    image += rng.normal(0, 4, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), truth


# ---------------------------------------------------------------------------- writers


def _allocate(count: int, weights: tuple[float, ...]) -> list[int]:
    """Split ``count`` items by ``weights``, at least one per part when ``count`` allows."""
    weights = np.asarray(weights, dtype=float) / sum(weights)
    counts = np.floor(weights * count).astype(int)
    if count >= len(weights):
        counts = np.maximum(counts, 1)
    while counts.sum() > count:
        counts[np.argmax(counts)] -= 1
    while counts.sum() < count:
        counts[np.argmax(weights * count - counts)] += 1
    return counts.tolist()


def _assign(count: int, names: tuple[str, ...], weights: tuple[float, ...]) -> list[str]:
    """Which of ``names`` (a split, folder or list file) item ``i`` goes to: consecutive runs
    sized by :func:`_allocate`."""
    shares = _allocate(count, weights)
    return [name for name, share in zip(names, shares, strict=True) for _ in range(share)]


def _write_lists(root: Path, rows_by_file: Mapping[str, list[str]]) -> None:
    for name, rows in rows_by_file.items():
        (root / name).write_text("".join(rows))


def _save(array: np.ndarray, path: Path, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)


def _faces(count: int, seed: int, shape_of: Callable[[int], tuple[int, int]]) -> Iterator:
    for index in range(count):
        yield index, *render_face(seed, index, shape_of(index))


def _square(size):
    return lambda index: (size, size)


def _write_celeba_face(root: Path, count: int, size: int, seed: int) -> None:
    files = ("Train1000.txt", "Dev200.txt", "Test200.txt")
    lines = {name: [] for name in files}
    owners = _assign(count, files, (5, 1, 1))
    for index, image, truth in _faces(count, seed, _square(size)):
        stem = f"{index + 1:06d}"
        _save(image, root / "images" / f"{stem}.jpg", quality=92)
        _save(TRUTH_TABLES["celeba_face"][truth] * np.uint8(255), root / "masks" / f"{stem}.png")
        lines[owners[index]].append(f"images/{stem}.jpg masks/{stem}.png\n")
    _write_lists(root, lines)


def _write_celebamask_hq(root: Path, count: int, size: int, seed: int) -> None:
    """Images ``size²``, part masks ``(size // 2)²`` as in the release (1024 / 512)."""
    part_size = max(1, size // 2)
    mapping = ["idx orig_idx orig_file\n"]
    celeba_ids = np.random.default_rng(seed).choice(202599, size=count, replace=False)
    inner = [_ID[name] for name in _INNER_FACE]
    for index, image, truth in _faces(count, seed, _square(size)):
        _save(image, root / "CelebA-HQ-img" / f"{index}.jpg", quality=92)
        small = resize_mask(truth, (part_size, part_size))
        folder = root / "CelebAMask-HQ-mask-anno" / str(index // 2000)
        for class_id, name in enumerate(TRUTH_CLASSES[1:], 1):
            part = small == class_id
            if class_id == _ID["skin"]:  # as in the release, skin also covers the inner face
                part |= np.isin(small, inner)
            if part.any():
                _save(part.astype(np.uint8) * np.uint8(255), folder / f"{index:05d}_{name}.png")
        mapping.append(f"{index} {celeba_ids[index]} {celeba_ids[index] + 1:06d}.jpg\n")
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("".join(mapping))


def _write_face8(root: Path, count: int, size: int, seed: int) -> None:
    """Mixed portrait and landscape photos, as in the Kaggle set."""
    splits = _assign(count, ("train", "val", "test"), (7, 2, 1))

    def shape_of(index):
        return (size, size * 3 // 2) if index % 2 else (size * 4 // 3, size)

    for index, image, truth in _faces(count, seed, shape_of):
        folder = root / splits[index]
        _save(image, folder / "images" / f"face_{index:05d}.jpg", quality=92)
        _save(TRUTH_TABLES["face8"][truth], folder / "masks" / f"face_{index:05d}.png")


def _write_helen(root: Path, count: int, size: int, seed: int) -> None:
    """Lin et al.'s release: ``train/`` and ``test/`` folders + ``label_names.txt``."""
    folders = _assign(count, ("train", "test"), (4, 1))
    (root / "label_names.txt").write_text("\n".join(HELEN_CLASSES) + "\n")
    for index, image, truth in _faces(count, seed, _square(size)):
        folder = root / folders[index]
        stem = f"{100000 + 37 * index}_{index % 3 + 1}"
        _save(image, folder / f"{stem}_image.jpg", quality=92)
        _save(TRUTH_TABLES["helen"][truth], folder / f"{stem}_label.png")


def _write_portrait(root: Path, count: int, size: int, seed: int) -> None:
    """``train|val/{data,label_1}``; train masks 0/1 (as released), val masks 0/255."""
    splits = _assign(count, ("train", "val"), (4, 1))
    for index, image, truth in _faces(count, seed, _square(size)):
        split = splits[index]
        mask = TRUTH_TABLES["portrait"][truth] * np.uint8(1 if split == "train" else 255)
        _save(image, root / split / "data" / f"{index:05d}.png")
        _save(mask, root / split / "label_1" / f"{index:05d}.png")


def _write_eg1800(root: Path, count: int, size: int, seed: int) -> None:
    """PortraitNet's EG1800: 600×800-like portrait PNGs, 0/1 label PNGs, two list files."""
    lists = {"eg1800_train.txt": [], "eg1800_test.txt": []}
    owners = _assign(count, tuple(lists), (5, 1))
    for index, image, truth in _faces(count, seed, lambda i: (size * 4 // 3, size)):
        name = f"{index + 1:05d}.png"
        _save(image, root / "Images" / name)
        _save(TRUTH_TABLES["eg1800"][truth], root / "Labels" / name)
        lists[owners[index]].append(name + "\n")
    _write_lists(root, lists)


def _write_lfw_parts(root: Path, count: int, size: int, seed: int) -> None:
    """Official layout: funneled JPEGs per person, ``.ppm`` colour masks, three lists."""
    colours = np.asarray(get_spec("lfw_parts").colours, dtype=np.uint8)
    names = ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Kurt_Godel", "Emmy_Noether")
    files = ("parts_train.txt", "parts_validation.txt", "parts_test.txt")
    owners = _assign(count, files, (3, 1, 1))
    lines = {name: [] for name in files}
    for index, image, truth in _faces(count, seed, _square(size)):
        person, number = names[index % len(names)], index // len(names) + 1
        stem = f"{person}_{number:04d}"
        _save(image, root / "lfw_funneled" / person / f"{stem}.jpg", quality=92)
        mask = colours[TRUTH_TABLES["lfw_parts"][truth]]
        _save(mask, root / "parts_lfw_funneled_gt_images" / f"{stem}.ppm")
        lines[owners[index]].append(f"{person} {number}\n")
    _write_lists(root, lines)


def _write_ccp_fullbody(root: Path, count: int, size: int, seed: int) -> None:
    """``images/ccp_NNNN.jpg`` and 0/1 ``masks/ccp_NNNN.png`` (tall, like the real photos)."""
    for index, image, truth in _faces(count, seed, lambda i: (size * 3 // 2, size)):
        stem = f"ccp_{index + 1:04d}"
        _save(image, root / "images" / f"{stem}.jpg", quality=92)
        _save(TRUTH_TABLES["eg1800"][truth], root / "masks" / f"{stem}.png")


def _write_people(root: Path, count: int, size: int, seed: int) -> None:
    """The three sources of ``readers.people``, a third of ``count`` each (at least 10, so
    every source has a val item)."""
    share = max(count // 3, 10)
    _write_eg1800(root / "portrait_shen", share, size, seed)
    _write_ccp_fullbody(root / "ccp_fullbody", share, size, seed + 1)
    _write_celebamask_hq(root / "celebamask_mini", share, size, seed + 2)


WRITERS: dict[str, Callable[[Path, int, int, int], None]] = {
    "celeba_face": _write_celeba_face,
    "celebamask_hq": _write_celebamask_hq,
    "face8": _write_face8,
    "helen": _write_helen,
    "portrait": _write_portrait,
    "eg1800": _write_eg1800,
    "lfw_parts": _write_lfw_parts,
    "ccp_fullbody": _write_ccp_fullbody,
    "people": _write_people,
}


def write_sample(name: str, root, count: int = 20, size: int = 128, seed: int = 0) -> Path:
    """Write a miniature copy of dataset ``name`` into ``root`` in its raw on-disk layout.

    Args:
        name: a dataset name (``WRITERS``).
        count: number of images over all splits (each split gets at least one when
            ``count`` allows).
        size: image side in pixels (the shorter side for non-square layouts). CelebAMask-HQ
            part masks are written at ``size // 2`` like the release's 1024 / 512.
        seed: item ``i`` is drawn from ``(seed, i)``; the same arguments give the same files.

    Returns:
        ``root`` as a ``Path``.
    """
    if name not in WRITERS:
        raise ValueError(f"no sample writer for dataset {name!r}; choose from {sorted(WRITERS)}")
    if count < 1 or size < 8:
        raise ValueError(f"sample needs count >= 1 and size >= 8, got count={count}, size={size}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    WRITERS[name](root, int(count), int(size), int(seed))
    return root
