"""Readers on their bundled samples, label tables, flips, resizing and the sample writer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecolab.constants import IGNORE_INDEX
from facecolab.data import FORMATS, SPECS, get_format, get_spec
from facecolab.data.labels import FACE8_MERGE, remap, remap_lut
from facecolab.data.readers import celeba_face, celebamask_hq, face8, helen
from facecolab.data.readers.ccp_fullbody import person_box_only
from facecolab.data.resize import (
    ASPECT_MODES,
    _opencv,
    resize_image,
    resize_mask,
    resize_probabilities,
)
from facecolab.data.sample import TRUTH_TABLES, WRITERS, render_face, write_sample

SAMPLE_COUNT, SAMPLE_SIZE, SAMPLE_SEED = 12, 64, 3
LFW_REAL = Path(__file__).resolve().parents[1].parent / "shared/data/lfw_parts"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """``name → raw sample root``, written once per module."""
    base = tmp_path_factory.mktemp("samples")
    return {
        name: write_sample(name, base / name, SAMPLE_COUNT, SAMPLE_SIZE, SAMPLE_SEED)
        for name in WRITERS
    }


def _all_items(name, root, seed=0):
    fmt = get_format(name)
    return {split: fmt.list_items(root, split, seed=seed) for split in fmt.splits}


# How each sample layout names item ``i`` (see the writers in facecolab.data.sample).
SAMPLE_INDEX = {
    "celeba_face": lambda key: int(key) - 1,
    "celebamask_hq": int,
    "face8": lambda key: int(key.rsplit("_", 1)[1]),
    "helen": lambda key: (int(key.split("_")[0]) - 100000) // 37,
    "portrait": lambda key: int(key.split("_")[1]),
    "eg1800": lambda key: int(key) - 1,
    "ccp_fullbody": lambda key: int(key.split("_")[1]) - 1,
    "lfw_parts": lambda key: (
        ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Kurt_Godel", "Emmy_Noether").index(
            key.rsplit("_", 1)[0]
        )
        + 5 * (int(key.rsplit("_", 1)[1]) - 1)
    ),
}


def _expected_label(name, truth, label_shape):
    """What a reader must return for a sample item drawn with ``truth``."""
    if truth.shape != label_shape:  # CelebAMask-HQ parts are half size
        truth = np.asarray(Image.fromarray(truth).resize(label_shape[::-1], Image.NEAREST))
    if name == "ccp_fullbody":  # scored inside the labelled person's box only
        return person_box_only(TRUTH_TABLES["eg1800"][truth])
    label = TRUTH_TABLES[name][truth]
    return remap(label, FACE8_MERGE) if name == "face8" else label


# ``people`` is a folder of three of these samples (tests/test_people.py reads it).
@pytest.mark.parametrize("name", sorted(set(WRITERS) - {"people"}))
def test_reader_on_sample_returns_every_pair_exactly(name, samples):
    items = _all_items(name, samples[name])
    keys = [item.key for split in items.values() for item in split]
    assert len(keys) == len(set(keys)) == SAMPLE_COUNT
    assert all(items[split] for split in ("train", "val")), {s: len(v) for s, v in items.items()}
    fmt = get_format(name)
    for item in (i for split in items.values() for i in split):
        image = np.asarray(Image.open(item.image_path))
        label = fmt.load_label(item)
        assert label.dtype == np.uint8 and label.ndim == 2
        assert ((label < fmt.spec.num_classes) | (label == IGNORE_INDEX)).all()
        _, truth = render_face(SAMPLE_SEED, SAMPLE_INDEX[name](item.key), image.shape[:2])
        np.testing.assert_array_equal(label, _expected_label(name, truth, label.shape))


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_sample_is_deterministic_and_seed_dependent(name, tmp_path):
    first = write_sample(name, tmp_path / "a", count=3, size=32, seed=1)
    again = write_sample(name, tmp_path / "b", count=3, size=32, seed=1)
    other = write_sample(name, tmp_path / "c", count=3, size=32, seed=2)

    def contents(root):
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert contents(first) == contents(again)
    assert contents(first) != contents(other)


def test_sample_faces_draw_every_part_somewhere():
    present = set()
    for index in range(40):
        present |= set(np.unique(render_face(0, index, (96, 96))[1]).tolist())
    assert present == set(range(len(get_spec("celebamask_hq").class_names)))


def test_write_sample_rejects_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="no sample writer"):
        write_sample("imagenet", tmp_path)


def test_formats_and_specs_cover_the_same_names():
    assert set(FORMATS) == set(SPECS) == set(WRITERS)
    assert all(fmt.spec.name == name for name, fmt in FORMATS.items())


# ---------------------------------------------------------------- CelebAMask-HQ


def _write_parts(folder: Path, number: int, parts: dict[str, np.ndarray]):
    folder.mkdir(parents=True, exist_ok=True)
    for part, mask in parts.items():
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"{number:05d}_{part}.png")


def test_celebamask_hq_paints_parts_in_label_order(tmp_path):
    number = 2001  # lives in folder 2001 // 2000 = 1
    (tmp_path / "CelebA-HQ-img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "CelebA-HQ-img" / f"{number}.jpg")
    skin = np.ones((4, 4), bool)
    l_eye = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], bool)
    hair = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], bool)
    folder = tmp_path / "CelebAMask-HQ-mask-anno" / "1"
    _write_parts(folder, number, {"skin": skin, "l_eye": l_eye})
    # hair written as RGB, as some release files are; the other 15 parts are missing
    Image.fromarray(np.stack([hair * 255] * 3, -1).astype(np.uint8)).save(
        folder / f"{number:05d}_hair.png"
    )
    (item,) = celebamask_hq.list_items(tmp_path, "train", fractions=(1, 0, 0))
    assert item.key == "02001"
    expected = np.array(
        [[13, 13, 13, 13], [13, 13, 4, 1], [1, 4, 4, 1], [1, 1, 1, 1]], dtype=np.uint8
    )
    np.testing.assert_array_equal(celebamask_hq.load_label(item), expected)


def test_celebamask_hq_part_errors_name_the_file(tmp_path):
    item = celebamask_hq.Item("00007", tmp_path / "7.jpg", (tmp_path / "0",))
    with pytest.raises(FileNotFoundError, match="00007_"):
        celebamask_hq.load_label(item)
    _write_parts(tmp_path / "0", 7, {"skin": np.ones((4, 4)), "nose": np.ones((4, 6))})
    with pytest.raises(ValueError, match="00007_nose.png"):
        celebamask_hq.load_label(item)


def test_celebamask_hq_uses_official_partition_when_present(samples, tmp_path):
    root = samples["celebamask_hq"]
    rows = (root / celebamask_hq.MAPPING_FILE).read_text().splitlines()[1:]
    official = {int(r.split()[0]): (int(r.split()[0]) % 3) for r in rows}  # hq id → partition
    partition = [
        f"{int(r.split()[2].split('.')[0]):06d}.jpg {official[int(r.split()[0])]}" for r in rows
    ]
    assert celebamask_hq.official_partition(root) is None
    (root / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    try:
        for split, code in celebamask_hq.PARTITION_SPLITS.items():
            ids = {int(i.key) for i in celebamask_hq.list_items(root, split, seed=5)}
            assert ids == {i for i, p in official.items() if p == code}
    finally:
        (root / "list_eval_partition.txt").unlink()


def test_celebamask_hq_seeded_split_is_disjoint_and_seed_dependent(samples):
    root = samples["celebamask_hq"]
    by_seed = {seed: _all_items("celebamask_hq", root, seed) for seed in (0, 1)}
    splits = {s: {i.key for i in items} for s, items in by_seed[0].items()}
    assert sum(map(len, splits.values())) == len(set().union(*splits.values())) == SAMPLE_COUNT
    again = {s: {i.key for i in items} for s, items in _all_items("celebamask_hq", root, 0).items()}
    other = {s: {i.key for i in items} for s, items in by_seed[1].items()}
    assert again == splits != other


# ---------------------------------------------------------------- label tables


REMAP_CASES = [
    # label, table, unmapped, expected
    ([[0, 1, 2], [3, 9, 255]], {0: 0, 1: 1, 2: 1, 3: 2}, "background", [[0, 1, 1], [2, 0, 255]]),
    ([[0, 1, 2], [3, 9, 255]], {0: 0, 1: 1, 2: 1, 3: 2}, "ignore", [[0, 1, 1], [2, 255, 255]]),
    ([[5, 5], [4, 0]], {5: 0, 4: 7}, "ignore", [[0, 0], [7, 255]]),
    ([[2, 3, 4, 5, 13, 14, 16, 10]], FACE8_MERGE, "background", [[2, 2, 3, 3, 6, 6, 7, 0]]),
    ([[2, 3, 4, 5, 13, 14, 16, 10]], FACE8_MERGE, "ignore", [[2, 2, 3, 3, 6, 6, 7, 255]]),
]


@pytest.mark.parametrize(("label", "table", "unmapped", "expected"), REMAP_CASES)
def test_remap(label, table, unmapped, expected):
    out = remap(np.array(label, np.uint8), table, unmapped)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.array(expected, np.uint8))


@pytest.mark.parametrize(
    ("table", "unmapped", "match"),
    [
        ({0: 0}, "drop", "unmapped"),
        ({300: 1}, "background", "outside"),
        ({1: -1}, "ignore", "outside"),
    ],
)
def test_remap_rejects_bad_tables(table, unmapped, match):
    with pytest.raises(ValueError, match=match):
        remap_lut(table, unmapped)


def test_face8_merge_is_contiguous():
    assert sorted(set(FACE8_MERGE.values())) == list(range(get_spec("face8").num_classes))


def test_face8_custom_merge_from_json(tmp_path):
    table = {
        "class_names": ["background", "skin", "hair"],
        "table": {"skin": "skin", "nose": 1, "10": "hair", "background": 0},
        "unmapped": "ignore",
    }
    (tmp_path / "merge.json").write_text(json.dumps(table))
    fmt = face8.format_from_json(tmp_path / "merge.json")
    assert fmt.spec.class_names == ("background", "skin", "hair")
    mask = np.array([[0, 1, 6, 10, 4]], np.uint8)  # 6 nose, 10 hair, 4 l_eye (unmapped)
    Image.fromarray(mask).save(tmp_path / "m.png")
    label = fmt.load_label(face8.Item("x", tmp_path / "x.jpg", (tmp_path / "m.png",)))
    np.testing.assert_array_equal(label, [[0, 1, 1, 2, 255]])
    with pytest.raises(ValueError, match="m.png.*source class ids"):
        Image.fromarray(np.array([[0, 18]], np.uint8)).save(tmp_path / "m.png")
        fmt.load_label(face8.Item("x", tmp_path / "x.jpg", (tmp_path / "m.png",)))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{", "bad merge table"),
        ('{"table": {"wings": 1}}', "wings"),
        ('{"table": {"1": 9}}', "outside"),
    ],
)
def test_face8_bad_merge_file(tmp_path, content, match):
    (tmp_path / "merge.json").write_text(content)
    with pytest.raises(ValueError, match=match):
        face8.format_from_json(tmp_path / "merge.json")


# ---------------------------------------------------------------- flips


@pytest.mark.parametrize("name", sorted(SPECS))
def test_flip_lut_swaps_pairs_and_is_an_involution(name):
    spec = get_spec(name)
    lut = spec.flip_lut()
    assert lut.dtype == np.uint8 and lut.shape == (256,)
    np.testing.assert_array_equal(lut[lut], np.arange(256))
    paired = {i for pair in spec.flip_pairs for i in pair}
    for left, right in spec.flip_pairs:
        assert (lut[left], lut[right]) == (right, left)
    assert all(lut[i] == i for i in range(256) if i not in paired)
    assert lut[IGNORE_INDEX] == IGNORE_INDEX


# ---------------------------------------------------------------- resizing


@pytest.mark.parametrize("aspect", ASPECT_MODES)
@pytest.mark.parametrize(
    ("src", "dst"),
    [((37, 53), (64, 64)), ((250, 250), (64, 64)), ((64, 96), (33, 17)), ((8, 8), (128, 96))],
)
def test_resize_mask_never_creates_labels(src, dst, aspect):
    rng = np.random.default_rng(src[0] * 1000 + dst[1])
    for _ in range(5):
        ids = rng.choice(19, size=rng.integers(2, 7), replace=False)
        blocks = rng.choice(ids, size=(max(1, src[0] // 4), max(1, src[1] // 4)))
        label = np.asarray(
            Image.fromarray(blocks.astype(np.uint8)).resize(src[::-1], Image.NEAREST)
        )
        label = label.copy()
        label[rng.random(src) < 0.05] = rng.choice(ids)  # isolated pixels too
        out = resize_mask(label, dst, aspect)
        assert out.shape == dst and out.dtype == np.uint8
        allowed = set(np.unique(label).tolist()) | (
            {IGNORE_INDEX} if aspect == "letterbox" else set()
        )
        assert set(np.unique(out).tolist()) <= allowed


@pytest.mark.parametrize("aspect", ASPECT_MODES)
def test_resize_image_and_mask_agree_on_geometry(aspect):
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 200
    mask = (image[..., 0] > 0).astype(np.uint8)
    out_image, out_mask = resize_image(image, (32, 32), aspect), resize_mask(mask, (32, 32), aspect)
    assert out_image.shape == (32, 32, 3) and out_mask.shape == (32, 32)
    bright = out_image[..., 0] > 100
    assert (bright == (out_mask == 1)).mean() > 0.95


@pytest.mark.parametrize(
    ("shape", "size"),
    [((48, 64, 1), (480, 640)), ((64, 48, 4), (30, 20)), ((5, 7, 2), (5, 7)), ((8, 8, 3), (1, 1))],
)
def test_probabilities_resize_alike_in_opencv_and_tensorflow(shape, size):
    pytest.importorskip("cv2", reason="OpenCV is not installed")
    probs = np.random.default_rng(0).random(shape, dtype=np.float32)
    fast = resize_probabilities(probs, size, backend="opencv")
    plain = resize_probabilities(probs, size, backend="tensorflow")
    assert fast.shape == plain.shape == (*size, shape[-1]) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, plain, atol=5e-5)


def test_probabilities_resize_without_opencv_or_past_its_channels(monkeypatch):
    probs = np.random.default_rng(1).random((6, 4, 19), dtype=np.float32)
    expected = resize_probabilities(probs, (12, 8), backend="tensorflow")
    np.testing.assert_array_equal(resize_probabilities(probs, (12, 8)), expected)  # 19 > 4
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 fails as when not installed
    _opencv.cache_clear()
    try:
        one = resize_probabilities(probs[..., :1], (12, 8))
    finally:
        _opencv.cache_clear()
    np.testing.assert_array_equal(one, expected[..., :1])
    with pytest.raises(ValueError, match="backend"):
        resize_probabilities(probs, (12, 8), backend="pillow")


# ---------------------------------------------------------------- other layouts


def test_helen_accepts_list_files_and_checks_label_names(samples, tmp_path):
    src = samples["helen"]
    names = {}
    for split in ("train", "test"):
        ids = []
        for path in sorted((src / split).iterdir()):
            (tmp_path / path.name).write_bytes(path.read_bytes())
            if path.name.endswith("_image.jpg"):
                ids.append(path.name.removesuffix("_image.jpg"))
        names[split] = ids
        rows = [f"{n} , {i}" for n, i in enumerate(ids, 1)]  # Helen's own list style
        (tmp_path / f"{split}.txt").write_text("\n".join(rows) + "\n")
    (tmp_path / "label_names.txt").write_text((src / "label_names.txt").read_text())
    listed = _all_items("helen", tmp_path)
    original = _all_items("helen", src)
    assert {s: [i.key for i in v] for s, v in listed.items()} == {
        s: [i.key for i in v] for s, v in original.items()
    }
    assert sorted(i.key for i in listed["test"]) == sorted(names["test"])
    (tmp_path / "label_names.txt").write_text("bg face lb rb le re nose ulip mouth llip hair\n")
    with pytest.raises(
        ValueError, match=r"label_names.txt.*position 8: 'mouth' instead of 'imouth'"
    ):
        helen.list_items(tmp_path, "train")
    (tmp_path / "label_names.txt").unlink()
    with pytest.raises(FileNotFoundError, match="label_names.txt"):
        helen.list_items(tmp_path, "test")


@pytest.mark.parametrize("name", ["helen", "eg1800"])
def test_val_is_carved_from_train_by_seed(name, samples):
    fmt = get_format(name)
    root = samples[name]
    train, val = (fmt.list_items(root, s, seed=0) for s in ("train", "val"))
    assert val and not {i.key for i in train} & {i.key for i in val}
    other = fmt.list_items(root, "val", seed=1)
    whole = {i.key for i in train} | {i.key for i in val}
    assert {i.key for i in other} <= whole


def test_celeba_face_prefixes(samples, tmp_path):
    src = samples["celeba_face"]
    (tmp_path / "lists").mkdir()
    for name in celeba_face.SPLIT_FILES.values():
        (tmp_path / "lists" / name).write_text((src / name).read_text())
    with pytest.raises(FileNotFoundError):
        Image.open(celeba_face.list_items(tmp_path / "lists", "train")[0].image_path)
    items = celeba_face.list_items(tmp_path / "lists", "train", img_prefix=src, label_prefix=src)
    assert items[0].image_path.exists() and items[0].label_paths[0].exists()
    (tmp_path / "lists" / "mine.txt").write_text("images/000001.jpg masks/000001.png\n")
    (mine,) = celeba_face.list_items(tmp_path / "lists", "test", test_file="mine.txt")
    assert mine.key == "000001"
    (tmp_path / "lists" / "Dev200.txt").write_text("only_one_field.jpg\n")
    with pytest.raises(ValueError, match=r"Dev200.txt:1"):
        celeba_face.list_items(tmp_path / "lists", "val")


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_readers_reject_unknown_splits(name, samples):
    with pytest.raises(ValueError, match="splits"):
        get_format(name).list_items(samples[name], "holdout")


# ---------------------------------------------------------------- real LFW Part Labels


@pytest.mark.skipif(not LFW_REAL.is_dir(), reason=f"real LFW Part Labels not found at {LFW_REAL}")
def test_lfw_parts_reader_on_real_data():
    fmt = get_format("lfw_parts")
    train = fmt.list_items(LFW_REAL, "train")
    val = fmt.list_items(LFW_REAL, "val")
    assert (len(train), len(val)) == (1500, 500)
    assert not {i.key for i in train} & {i.key for i in val}
    for item in (train[0], val[-1]):
        assert item.image_path.exists()
        label = fmt.load_label(item)
        assert label.shape == (250, 250)
        assert set(np.unique(label).tolist()) <= {0, 1, 2}
        assert {0, 1} <= set(np.unique(label).tolist())
