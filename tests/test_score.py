"""f1_score.py / facecolab.measures.score on hand-made label-map folders with hand-computed F1."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from facecolab.data.specs import HELEN_CLASSES
from facecolab.measures.score import main, pair_files, score_folders

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def write_png(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(rows, dtype=np.uint8)).save(path)


def by_name(result, key="f1"):
    return {row["name"]: row[key] for row in result["metrics"]["classes"]}


# (ground truth, prediction) per file → expected F1 per class (2·TP / (|GT| + |Pred|)) over
# ONE matrix of all files, and pixel accuracy.
CASES = [
    pytest.param(
        {"a": ([[0, 0], [1, 2]], [[0, 1], [1, 2]]), "b": ([[1, 1], [2, 2]], [[1, 1], [2, 0]])},
        {"bg": 2 * 1 / (2 + 2), "skin": 2 * 3 / (3 + 4), "hair": 2 * 2 / (3 + 2)},
        6 / 8,
        id="two-files-one-matrix",
    ),
    pytest.param(
        {"a": ([[0, 0, 0, 0]], [[0, 0, 0, 0]]), "b": ([[1, 1]], [[1, 1]])},
        {"bg": 1.0, "skin": 1.0, "hair": None},  # hair absent everywhere: no score, not 0
        1.0,
        id="absent-class",
    ),
    pytest.param(
        {"a": ([[2, 2, 255]], [[0, 2, 1]])},  # 255 = ignore in the truth
        {"bg": 0.0, "skin": None, "hair": 2 * 1 / (2 + 1)},
        1 / 2,
        id="ignore-label",
    ),
]


@pytest.mark.parametrize("files, expected_f1, expected_accuracy", CASES)
def test_f1_from_one_confusion_matrix(tmp_path, files, expected_f1, expected_accuracy):
    for key, (truth, prediction) in files.items():
        write_png(tmp_path / "gt" / f"{key}_label.png", truth)
        write_png(tmp_path / "pred" / f"{key}.png", prediction)
    result = score_folders(tmp_path / "pred", tmp_path / "gt", ["bg", "skin", "hair"])
    assert result["files_scored"] == len(files)
    assert by_name(result) == pytest.approx(expected_f1)
    assert result["metrics"]["pixel_accuracy"] == pytest.approx(expected_accuracy)


def test_helen_groups_by_hand(tmp_path):
    truth = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 4]]
    prediction = [[0, 1, 3, 2, 5, 4, 6, 0, 8, 7, 10, 0]]
    write_png(tmp_path / "gt" / "1_label.png", truth)
    write_png(tmp_path / "pred" / "1_label.png", prediction)  # prediction named like the gt
    result = score_folders(tmp_path / "pred", tmp_path / "gt", HELEN_CLASSES)
    # eyes: GT at 4, 5, 11 (3 px), Pred at 4, 5 (2 px), both in the group at 4, 5 → 4/5.
    assert result["metrics"]["groups"] == pytest.approx(
        {"eyes": 0.8, "brows": 1.0, "nose": 1.0, "mouth": 0.8, "overall": 14 / 16}
    )
    assert by_name(result)["le"] == 0.0  # left/right swaps are wrong per class, right per group


def test_non_helen_names_have_no_groups(tmp_path):
    write_png(tmp_path / "gt" / "1.png", [[0, 1]])
    write_png(tmp_path / "pred" / "1.png", [[0, 1]])
    assert "groups" not in score_folders(tmp_path / "pred", tmp_path / "gt", ["a", "b"])["metrics"]


def test_missing_extra_and_out_of_set_are_reported(tmp_path, capsys):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    write_png(gt / "a_label.png", [[0, 1, 1]])
    write_png(pred / "a.png", [[7, 1, 1]])  # 7 is not a class: counted wrong, reported
    write_png(gt / "b_label.png", [[0, 9]])  # 9 in the truth: excluded too
    write_png(pred / "b.png", [[0, 1]])
    write_png(gt / "c_label.png", [[1]])  # no prediction
    write_png(pred / "d.png", [[1]])  # no ground truth
    Image.new("RGB", (3, 1)).save(gt / "a_image.jpg")  # Helen's image beside its label: skipped
    (tmp_path / "names.txt").write_text("bg\nskin\n")
    out = tmp_path / "report" / "f1.json"
    code = main(
        [
            "--pred",
            str(pred),
            "--gt",
            str(gt),
            "--labels",
            str(tmp_path / "names.txt"),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["missing"] == ["c_label.png"]
    assert result["extra"] == ["d.png"]
    assert result["out_of_set"] == {
        "ground_truth": {"b_label.png": {"9": 1}},
        "prediction": {"a.png": {"7": 1}},
    }
    assert result["excluded_pixels"] == 1  # the truth 9 only
    assert result["wrong_out_of_set"] == 1  # the prediction 7 (true class 0)
    assert result["confusion_matrix"] == [[1, 0], [0, 2]]
    assert result["metrics"]["pixel_accuracy"] == pytest.approx(3 / 4)
    printed = capsys.readouterr()
    assert "[7]" in printed.out
    assert "c_label.png" not in printed.out and "d.png" not in printed.out  # on stderr
    assert "1 ground-truth label maps" in printed.err and "c_label.png" in printed.err
    assert "1 predictions" in printed.err and "d.png" in printed.err


# Files in the ground-truth and prediction folders → (keys scored, ground truth without a
# prediction, predictions without ground truth).
PAIRINGS = [
    pytest.param(
        ["1_label.png", "1_image.jpg", "2_label.png", "2_image.png"],
        ["1.png", "2.png"],
        ["1", "2"],
        [],
        [],
        id="helen-folder-its-images-are-not-labels",
    ),
    pytest.param(
        ["1_label.png", "2_label.png"],
        ["1.png", "3.png"],
        ["1"],
        ["2_label.png"],
        ["3.png"],
        id="one-of-each-side-unpaired",
    ),
    pytest.param(
        ["1_label.png"], ["1_image.png"], ["1"], [], [], id="prediction-named-after-the-image"
    ),
    pytest.param(["a.png"], ["a.png", "b.png"], ["a"], [], ["b.png"], id="plain-names"),
]


@pytest.mark.parametrize("gt_names, pred_names, paired, missing, extra", PAIRINGS)
def test_pairing_table(tmp_path, gt_names, pred_names, paired, missing, extra):
    for folder, names in (("gt", gt_names), ("pred", pred_names)):
        for name in names:
            write_png(tmp_path / folder / name, [[0]])
    pairs = pair_files(tmp_path / "pred", tmp_path / "gt")
    assert [key for key, _, _ in pairs.pairs] == paired
    assert (pairs.missing, pairs.extra) == (missing, extra)


def test_unpaired_files_are_listed_on_stderr_by_count_and_name(tmp_path, capsys):
    for i in range(12):
        write_png(tmp_path / "gt" / f"{i:02d}_label.png", [[0]])
    write_png(tmp_path / "pred" / "00.png", [[0]])
    write_png(tmp_path / "pred" / "zz.png", [[0]])
    assert main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")]) == 0
    err = capsys.readouterr().err
    assert "11 ground-truth label maps" in err and "01_label.png" in err and "1 more" in err
    assert "1 predictions" in err and "zz.png" in err


def test_nothing_paired_is_a_one_line_error(tmp_path, capsys):
    write_png(tmp_path / "gt" / "a_label.png", [[0]])
    write_png(tmp_path / "pred" / "b.png", [[0]])
    assert main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("f1_score.py: error: no prediction") and "\n" not in err


def test_without_label_names_classes_are_the_ids_seen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no label_names.txt anywhere
    write_png(tmp_path / "gt" / "a.png", [[0, 3, 3]])
    write_png(tmp_path / "pred" / "a.png", [[0, 3, 255]])
    out = tmp_path / "f1.json"
    assert main(["--pred", "pred", "--gt", "gt", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["class_names"] == ["0", "1", "2", "3"]
    assert result["out_of_set"]["prediction"] == {"a.png": {"255": 1}}
    assert by_name(result)["3"] == pytest.approx(2 / 3)  # the 255 prediction is a miss


@pytest.mark.parametrize(
    "gt_names, pred_names, message",
    [
        (["a.png", "a_label.png"], ["a.png"], "both pair as 'a'"),
        (["a.png"], ["b.png"], "no prediction"),
    ],
)
def test_pairing_errors(tmp_path, gt_names, pred_names, message):
    for folder, names in (("gt", gt_names), ("pred", pred_names)):
        for name in names:
            write_png(tmp_path / folder / name, [[0]])
    with pytest.raises(ValueError, match=message):
        pair_files(tmp_path / "pred", tmp_path / "gt")


def test_size_mismatch_names_both_files(tmp_path, capsys):
    write_png(tmp_path / "gt" / "a.png", [[0, 1]])
    write_png(tmp_path / "pred" / "a.png", [[0], [1]])
    assert (
        main(
            [
                "--pred",
                str(tmp_path / "pred"),
                "--gt",
                str(tmp_path / "gt"),
                "--labels",
                str(_names(tmp_path)),
            ]
        )
        == 2
    )
    error = capsys.readouterr().err
    assert "pred/a.png" in error and "gt/a.png" in error


def _names(folder):
    (folder / "names.txt").write_text("bg fg\n")
    return folder / "names.txt"


def test_scoring_does_not_import_tensorflow(tmp_path):
    """f1_score.py is numpy/PIL only: fast to start, usable without TensorFlow."""
    write_png(tmp_path / "gt" / "a.png", [[0, 1]])
    write_png(tmp_path / "pred" / "a.png", [[0, 1]])
    code = (
        "import sys; from facecolab.measures.score import score_folders; "
        f"score_folders({str(tmp_path / 'pred')!r}, {str(tmp_path / 'gt')!r}); "
        "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_f1_score_script_from_another_folder_with_project4_defaults(tmp_path):
    """A fresh clone: no install, defaults --pred predict_image --gt test, label_names.txt
    found beside the test folder (Helen's layout)."""
    write_png(tmp_path / "test" / "7_label.png", [[0, 4, 5]])
    write_png(tmp_path / "predict_image" / "7.png", [[0, 5, 5]])
    (tmp_path / "label_names.txt").write_text(" ".join(HELEN_CLASSES) + "\n")
    out = subprocess.run(
        [sys.executable, str(REPO / "f1_score.py"), "--json", "f1.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "f1.json").read_text())
    assert result["label_names"].endswith("label_names.txt")
    assert result["metrics"]["groups"]["eyes"] == 1.0  # le/re confusion is right for "eyes"
    assert "F1 eyes: 100.00" in out.stdout


def test_a_prepared_folder_is_scored_by_split(tmp_path):
    from facecolab.data.prepare import PrepareOptions, prepare, split_files
    from facecolab.data.sample import write_sample

    raw = write_sample("helen", tmp_path / "raw", 10, 48, 0)
    prepared = tmp_path / "prepared"
    prepare("helen", raw, prepared, PrepareOptions(size=(32, 32)), workers=1, progress=False)
    (tmp_path / "pred").mkdir()
    _, labels = split_files(prepared, "val")
    for label in labels:  # perfect predictions, val split only
        (tmp_path / "pred" / label.name).write_bytes(label.read_bytes())
    result = score_folders(tmp_path / "pred", prepared, split="val")
    assert result["files_scored"] == len(labels) and not result["missing"]
    assert result["class_names"][:3] == ["bg", "face", "lb"]
    assert result["metrics"]["groups"]["overall"] == 1.0
    with pytest.raises(ValueError, match="say which split"):
        score_folders(tmp_path / "pred", prepared)
    with pytest.raises(ValueError, match="--split needs a prepared folder"):
        score_folders(tmp_path / "pred", tmp_path / "pred", split="val")
