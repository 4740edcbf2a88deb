"""The portrait models' data for everyday framing: the CCP full-body reader (no loss on
unlabelled bystanders), the ``people`` mix of sources, the everyday-framing validation
generator, and whole photos letterboxed for person models."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from facecolab.cli.main import _aspect
from facecolab.constants import IGNORE_INDEX
from facecolab.data import get_format
from facecolab.data.everyday import (
    BACKGROUNDS,
    CANVASES,
    FAR,
    NEAR,
    read_scenes,
    write_everyday_set,
)
from facecolab.data.readers.ccp_fullbody import person_box_only
from facecolab.data.sample import write_sample


@pytest.fixture(scope="module")
def people_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("people")
    write_sample("people", root, count=90, size=64)
    return root


def test_only_the_labelled_persons_box_is_scored():
    mask = np.zeros((100, 60), np.uint8)
    mask[20:80, 20:40] = 1  # the labelled person: 60 × 20
    label = person_box_only(mask, margin=0.1)
    assert (label[14:86, 18:42] != IGNORE_INDEX).all()  # the box grown by 6 and 2 pixels
    assert (label[:14] == IGNORE_INDEX).all() and (label[:, 42:] == IGNORE_INDEX).all()
    np.testing.assert_array_equal(label[20:80, 20:40], 1)
    assert (person_box_only(np.zeros((4, 4), np.uint8)) == IGNORE_INDEX).all()


@pytest.mark.parametrize(
    ("sources", "prefixes"),
    [
        (None, {"shen", "ccp", "celebamask"}),
        (["ccp_fullbody"], {"ccp"}),
        (["portrait_shen", "celebamask_mini"], {"shen", "celebamask"}),
    ],
)
def test_people_reads_each_source_in_person_ids(people_root, sources, prefixes):
    fmt = get_format("people")
    for split in ("train", "val"):
        items = fmt.list_items(people_root, split, sources=sources)
        assert {item.key.split("-")[0] for item in items} == prefixes
        for item in items:
            assert set(np.unique(fmt.load_label(item))) <= {0, 1, IGNORE_INDEX}


def test_every_celebamask_part_is_person(people_root):
    fmt, parts = get_format("people"), get_format("celebamask_hq")
    item = fmt.list_items(people_root, "train", sources=["celebamask_mini"])[0]
    original = parts.load_label(
        parts.list_items(people_root / "celebamask_mini", "train", fractions=(0.7, 0.2, 0.1))[0]
    )
    np.testing.assert_array_equal(fmt.load_label(item), (original > 0).astype(np.uint8))


@pytest.mark.parametrize(
    ("sources", "error", "message"),
    [
        (["faces"], ValueError, "unknown people sources \\['faces'\\]"),
        (["portrait_shen", "ccp_fullbody"], FileNotFoundError, "ccp_fullbody"),
    ],
)
def test_people_names_what_it_cannot_read(tmp_path, sources, error, message):
    write_sample("eg1800", tmp_path / "portrait_shen", count=10, size=32)
    with pytest.raises(error, match=message):
        get_format("people").list_items(tmp_path, "train", sources=sources)


def test_an_empty_root_names_the_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="portrait_shen, ccp_fullbody, celebamask_mini"):
        get_format("people").list_items(tmp_path, "train")


def test_the_everyday_set_is_seeded_and_labels_the_pasted_people(people_root, tmp_path):
    shen = people_root / "portrait_shen"
    first = write_everyday_set(shen, tmp_path / "a", count=6, seed=3)
    again = write_everyday_set(shen, tmp_path / "b", count=6, seed=3)
    other = write_everyday_set(shen, tmp_path / "c", count=6, seed=4)
    fmt = get_format("portrait")
    items = fmt.list_items(first, "val")
    assert len(items) == 6
    for item in items:
        image = np.asarray(Image.open(item.image_path))
        label = fmt.load_label(item)
        assert image.shape[:2] == label.shape and label.shape in CANVASES
        assert set(np.unique(label)) == {0, 1}
        assert 0.005 < label.mean() < 0.8, "a person, small or large, never the whole photo"
    same = [
        (first / "val" / "label_1" / f.name).read_bytes() == f.read_bytes()
        for f in sorted((again / "val" / "label_1").iterdir())
    ]
    assert all(same)
    differ = [
        (first / "val" / "label_1" / f.name).read_bytes() != f.read_bytes()
        for f in sorted((other / "val" / "label_1").iterdir())
    ]
    assert any(differ)
    scenes = read_scenes(first)
    assert sorted(scenes) == sorted(Path(item.image_path).stem for item in items)
    assert set(scenes.values()) <= set(BACKGROUNDS) and scenes == read_scenes(again)


@pytest.mark.parametrize(
    ("source", "framing", "low", "high"),
    [("portrait_shen", NEAR, 0.02, 0.8), ("ccp_fullbody", FAR, 0.0, 0.3)],
)
def test_each_framing_sizes_and_places_its_people(
    people_root, tmp_path, source, framing, low, high
):
    dataset = {"portrait_shen": "eg1800", "ccp_fullbody": "ccp_fullbody"}[source]
    out = write_everyday_set(
        people_root / source, tmp_path, count=8, dataset=dataset, framing=framing
    )
    fmt = get_format("portrait")
    labels = [fmt.load_label(item) for item in fmt.list_items(out, "val")]
    shares = [label.mean() for label in labels]
    assert all(low < share < high for share in shares), shares
    touching = [label[-1].any() for label in labels]  # people cut by the bottom edge
    assert all(touching) if framing.feet is None else not any(touching)


def test_an_everyday_set_without_its_scene_record_says_how_to_remake_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_everyday_val.py"):
        read_scenes(tmp_path)


def test_framing_scores_split_by_scene(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    from eval_portrait_framing import scored_rows

    truth = [np.array([[1, 0]], np.uint8), np.array([[1, 1]], np.uint8)]
    photos = [("x/a.jpg", truth[0]), ("x/b.jpg", truth[1])]
    masks = [np.array([[True, False]]), np.array([[False, False]])]  # a right, b all missed
    rows = scored_rows("m", "everyday", masks, photos, {"a": "cat", "b": "brick"})
    by_set = {row["set"]: row for row in rows}
    assert [row["set"] for row in rows] == ["everyday", "everyday:brick", "everyday:cat"]
    assert by_set["everyday"]["person_iou"] == pytest.approx(1 / 3)
    assert by_set["everyday:cat"]["person_iou"] == 1.0
    assert by_set["everyday:brick"]["person_iou"] == 0.0 and by_set["everyday:brick"]["photos"] == 1
    # per photo: a 1, b 0; pooled over pixels: 1 of 3
    assert by_set["everyday"]["photo_person_iou"] == pytest.approx(0.5)
    assert scored_rows("m", "everyday", masks, photos) == rows[:1]
    nobody = [("x/c.jpg", np.zeros((1, 2), np.uint8))]
    assert scored_rows("m", "s", [np.zeros((1, 2), bool)], nobody)[0]["photo_person_iou"] is None
    # a photo where neither truth nor mask has a person does not count
    both = scored_rows("m", "s", [*masks, np.zeros((1, 2), bool)], photos + nobody)
    assert both[0]["photo_person_iou"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("dataset", "config_aspect", "given", "expected"),
    [
        ("eg1800", None, None, "letterbox"),  # whole photos never squashed
        ("people", "stretch", None, "letterbox"),
        ("eg1800", None, "crop", "crop"),  # the user's word wins
        ("celebamask_hq", "stretch", None, "stretch"),  # face crops keep their training's
        ("helen", "letterbox", None, "letterbox"),
        (None, None, None, "stretch"),
    ],
)
def test_person_models_take_whole_photos_letterboxed(dataset, config_aspect, given, expected):
    config = {"data": {"aspect": config_aspect}} if config_aspect else None
    opened = SimpleNamespace(dataset=dataset, run_config=config)
    assert _aspect(Namespace(aspect=given), opened) == expected
