"""Relabel tables: the issue's three tables as data, their checks, and prepare --relabel
(recorded in dataset.json, refused on a rerun with another table, equal to relabelling a
prepared folder afterwards)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecolab.data.labels import (
    RELABEL_TABLES,
    Relabel,
    get_relabel,
    label_set_name,
    remap,
)
from facecolab.data.prepare import PrepareOptions, prepare, relabel_prepared
from facecolab.data.sample import write_sample
from facecolab.data.specs import get_spec

REPO = Path(__file__).resolve().parents[1]

# Target id -> CelebAMask-HQ source ids, as issue #8 states them.
EXPECTED = {
    "celeba_face": {0: (0, 13, 14, 15, 16, 17, 18), 1: tuple(range(1, 13))},
    "face8": {
        0: (0, 13, 14, 15, 16, 17, 18),
        1: (1,),
        2: (6, 7),
        3: (4, 5),
        4: (2,),
        5: (10, 11, 12),
        6: (8, 9),
        7: (3,),
    },
    "helen": {
        0: (0, 14, 15, 16, 17, 18),
        1: (1, 3, 8, 9),
        2: (6,),
        3: (7,),
        4: (4,),
        5: (5,),
        6: (2,),
        7: (11,),
        8: (10,),
        9: (12,),
        10: (13,),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tables_are_the_issues_tables(name):
    relabel = get_relabel(name)
    assert (relabel.source, relabel.target) == ("celebamask_hq", name)
    mapped = remap(np.arange(19, dtype=np.uint8), relabel.table)
    for target, sources in EXPECTED[name].items():
        assert set(mapped[list(sources)]) == {target}
    assert remap(np.array([255], np.uint8), relabel.table)[0] == 255  # ignore stays ignore
    assert label_set_name("celebamask_hq", name) == name


BAD_TABLES = [
    ({i: 0 for i in range(18)}, "ids [18] (cloth) are unmapped"),
    ({i: 0 for i in range(20)}, "ids [19] are not celebamask_hq ids"),
    ({i: (2 if i == 5 else 0) for i in range(19)}, "target ids [2] are outside celeba_face's 0..1"),
]


@pytest.mark.parametrize(("table", "message"), BAD_TABLES)
def test_a_bad_table_names_the_id(table, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Relabel("mine", "celebamask_hq", "celeba_face", table)


def test_unknown_table_lists_the_known_ones():
    with pytest.raises(ValueError, match="choose from"):
        get_relabel("nope")
    assert sorted(RELABEL_TABLES) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def celebamask_root(tmp_path_factory):
    return write_sample("celebamask_hq", tmp_path_factory.mktemp("raw"), 8, 48, 0)


def _labels(folder: Path) -> dict[str, np.ndarray]:
    return {p.stem: np.asarray(Image.open(p)) for p in sorted((folder / "labels").glob("*.png"))}


def _prepare(root, out, **options):
    options = PrepareOptions(size=(32, 32), **options)
    return prepare("celebamask_hq", root, out, options, workers=1, progress=False)


def test_prepare_relabel_writes_target_ids_and_records_the_table(celebamask_root, tmp_path):
    plain, helen = tmp_path / "plain", tmp_path / "helen"
    _prepare(celebamask_root, plain)
    _prepare(celebamask_root, helen, relabel="helen")
    info = json.loads((helen / "dataset.json").read_text())
    assert info["spec"]["class_names"] == list(get_spec("helen").class_names)
    assert info["relabel"]["name"] == "helen" and info["relabel"]["source"] == "celebamask_hq"
    table = get_relabel("helen").table
    originals, relabelled = _labels(plain), _labels(helen)
    assert originals.keys() == relabelled.keys()
    for key, label in originals.items():
        np.testing.assert_array_equal(relabelled[key], remap(label, table))
    # relabelling the prepared folder afterwards gives the same folder
    again = tmp_path / "helen_after"
    record = relabel_prepared(plain, again, "helen")
    assert record["relabel"] == info["relabel"] and record["class_pixels"] == info["class_pixels"]
    for key, label in _labels(again).items():
        np.testing.assert_array_equal(label, relabelled[key])


@pytest.mark.parametrize("other", [None, "face8"])
def test_rerun_with_another_table_is_refused(celebamask_root, tmp_path, other):
    out = tmp_path / "out"
    _prepare(celebamask_root, out, relabel="helen")
    before = sorted(p.name for p in (out / "labels").iterdir())
    with pytest.raises(ValueError, match="was prepared with"):
        _prepare(celebamask_root, out, relabel=other)
    assert sorted(p.name for p in (out / "labels").iterdir()) == before


def test_a_table_for_another_dataset_is_refused(tmp_path):
    root = write_sample("helen", tmp_path / "raw", 4, 48, 0)
    with pytest.raises(ValueError, match="maps celebamask_hq ids; helen has its own"):
        prepare(
            "helen",
            root,
            tmp_path / "out",
            PrepareOptions(size=(32, 32), relabel="face8"),
            workers=1,
        )
    with pytest.raises(ValueError, match="table 'face8' reads celebamask_hq labels"):
        prepared = tmp_path / "helen_prepared"
        prepare("helen", root, prepared, PrepareOptions(size=(32, 32)), workers=1, progress=False)
        relabel_prepared(prepared, tmp_path / "again", "face8")


def test_data_prep_command_line_takes_relabel(celebamask_root, tmp_path):
    command = [sys.executable, str(REPO / "data_prep" / "load_data.py"), "--dataset"]
    command += ["celebamask_hq", "--root", str(celebamask_root), "--size", "32", "--no-progress"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "o"), "--relabel", "celeba_face"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (
        json.loads((tmp_path / "o" / "dataset.json").read_text())["spec"]["name"] == "celeba_face"
    )
    refused = subprocess.run(
        [*command, "--out", str(tmp_path / "p"), "--relabel", "nope"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "--relabel" in refused.stderr
