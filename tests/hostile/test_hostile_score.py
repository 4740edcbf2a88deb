"""Hostile scoring (``f1_score.py`` / ``facecolab score``): predictions outside the label set,
colour prediction maps, stray label-name files, bad outputs. Invalid predictions never score
as right, and the report says which label names it used."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hostile_kit import f1_score, files, one_line_error
from PIL import Image

from facecolab.data.specs import HELEN_CLASSES, get_spec

HELEN_COLOURS = np.asarray(get_spec("helen").colours, np.uint8)


@pytest.fixture
def folders(tmp_path):
    """``(pred, gt)`` folders holding one 50×50 Helen ground truth ``7_label.png`` with every
    id, and an empty prediction folder."""
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    truth = (np.arange(2500).reshape(50, 50) % 11).astype(np.uint8)
    Image.fromarray(truth).save(gt / "7_label.png")
    (tmp_path / "names.txt").write_text(" ".join(HELEN_CLASSES))
    return pred, gt, truth


def test_out_of_set_predictions_are_wrong_and_counted(capsys, folders, tmp_path):
    """97.6 % of the prediction is 99 (no class): it used to score 100.00 everywhere."""
    pred, gt, truth = folders
    prediction = truth.copy()
    prediction.flat[:2440] = 99
    Image.fromarray(prediction).save(pred / "7.png")
    out = tmp_path / "f1.json"
    code, stdout, _ = f1_score(
        capsys, "--pred", pred, "--gt", gt, "--labels", tmp_path / "names.txt", "--json", out
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["wrong_out_of_set"] == 2440 and result["excluded_pixels"] == 0
    assert result["metrics"]["pixel_accuracy"] == pytest.approx(60 / 2500)
    assert result["metrics"]["pixels"] == 2500
    assert result["out_of_set"]["prediction"] == {"7.png": {"99": 2440}}
    assert (
        "WARNING: 2440 predicted pixels are outside the label set; they are counted as wrong"
        in stdout
    )
    assert "- pixel accuracy: 2.40" in stdout
    assert "- F1 overall: 100.00" not in stdout


def test_ignore_value_in_a_prediction_is_wrong_too(capsys, folders, tmp_path):
    pred, gt, truth = folders
    prediction = truth.copy()
    prediction[0] = 255
    Image.fromarray(prediction).save(pred / "7.png")
    out = tmp_path / "f1.json"
    assert f1_score(capsys, "--pred", pred, "--gt", gt, "--json", out)[0] == 0
    assert json.loads(out.read_text())["metrics"]["pixel_accuracy"] == pytest.approx(2450 / 2500)


# (how the prediction is written, --labels given, exit code, message or pixel accuracy)
COLOUR_CASES = [
    ("helen colours", True, 0, 1.0),
    ("helen colours", False, 2, r"7\.png: colour image \(\d+ pixels are not grey\)"),
    ("unknown colours", True, 2, r"7\.png: \d+ pixels have colours outside the label set"),
    ("grey saved as RGB", False, 0, 1.0),
]


@pytest.mark.parametrize(("kind", "labels", "code", "expected"), COLOUR_CASES)
def test_colour_prediction_maps(capsys, folders, tmp_path, kind, labels, code, expected):
    """A colour map is read through the class colours of the named label set, or refused:
    never through its red channel (which scored 98.11)."""
    pred, gt, truth = folders
    if kind == "grey saved as RGB":
        picture = np.dstack([truth] * 3)
    else:
        picture = HELEN_COLOURS[truth].copy()
        if kind == "unknown colours":
            picture[0, 0] = (1, 2, 3)
    Image.fromarray(picture).save(pred / "7.png")
    out = tmp_path / "f1.json"
    argv = ["--pred", pred, "--gt", gt, "--json", out]
    argv += ["--labels", tmp_path / "names.txt"] if labels else []
    result_code, _, err = f1_score(capsys, *argv)
    assert result_code == code
    if code:
        one_line_error(err, expected, prefix="f1_score.py: error: ")
        assert not out.exists()
    else:
        assert json.loads(out.read_text())["metrics"]["pixel_accuracy"] == expected


def test_stray_label_names_in_the_working_folder_are_not_used(
    capsys, folders, tmp_path, monkeypatch
):
    pred, gt, truth = folders
    Image.fromarray(truth).save(pred / "7.png")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "label_names.txt").write_text("bg face lb rb le re nose ulip imouth")
    monkeypatch.chdir(tmp_path / "cwd")
    code, stdout, _ = f1_score(capsys, "--pred", pred, "--gt", gt)
    assert code == 0
    assert "Label names: none (classes are the ids seen)" in stdout
    assert "| 2 | 2 |" in stdout and "| lb |" not in stdout


def test_label_names_beside_the_ground_truth_are_named(capsys, folders, tmp_path):
    pred, gt, truth = folders
    Image.fromarray(truth).save(pred / "7.png")
    (tmp_path / "label_names.txt").write_text(" ".join(HELEN_CLASSES))
    code, stdout, _ = f1_score(capsys, "--pred", pred, "--gt", gt)
    assert code == 0
    assert f"Label names: {tmp_path / 'label_names.txt'}" in stdout.splitlines()[1]


def _json_is_a_folder(tmp_path):
    (tmp_path / "f1.json").mkdir()
    return tmp_path / "f1.json", r"f1\.json: output file is a folder"


def _json_below_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "f1.json", r"file: output folder exists and is not a folder"


def _pred_is_a_loop(tmp_path):
    shutil.rmtree(tmp_path / "pred")
    (tmp_path / "pred").symlink_to(tmp_path / "pred")
    return None, r"pred: prediction folder is a symbolic link that leads to no folder"


def _labels_missing(tmp_path):
    return None, r"absent\.txt: label names file not found"


def _labels_repeat(tmp_path):
    (tmp_path / "names.txt").write_text("bg face bg")
    return None, r"names\.txt: label names repeat"


def _prediction_16_bit(tmp_path):
    Image.fromarray(np.full((50, 50), 300, np.uint16)).save(tmp_path / "pred" / "7.png")
    return None, r"7\.png: mask values exceed 255"


def _prediction_not_an_image(tmp_path):
    (tmp_path / "pred" / "7.png").write_text("no")
    return None, r"7\.png: cannot read mask"


SCORE_FAILURES = [
    _json_is_a_folder,
    _json_below_a_file,
    _pred_is_a_loop,
    _labels_missing,
    _labels_repeat,
    _prediction_16_bit,
    _prediction_not_an_image,
]


@pytest.mark.parametrize("hostile", SCORE_FAILURES, ids=lambda f: f.__name__)
def test_scoring_failures_are_one_line(capsys, folders, tmp_path, hostile):
    pred, gt, truth = folders
    if not (pred / "7.png").exists() and pred.is_dir() and not pred.is_symlink():
        Image.fromarray(truth).save(pred / "7.png")
    if hostile in (_prediction_16_bit, _prediction_not_an_image):
        (pred / "7.png").unlink()
    out, message = hostile(tmp_path)
    labels = tmp_path / ("absent.txt" if hostile is _labels_missing else "names.txt")
    argv = ["--pred", pred, "--gt", gt, "--labels", labels]
    argv += ["--json", out] if out else []
    before = files(tmp_path)
    code, stdout, err = f1_score(capsys, *argv)
    assert code == 2 and stdout == ""
    one_line_error(err, message, prefix="f1_score.py: error: ")
    assert files(tmp_path) == before
