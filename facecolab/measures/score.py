"""Score folders of predicted label maps against ground truth (project 4's ``f1_score.py``).

Files are paired by stem, with a trailing ``_label`` dropped on either side (Helen's ground
truth is ``<id>_label.png``; predictions may be ``<id>.png``, ``<id>_label.png`` or
``<id>_image.png``). All pairs feed ONE confusion matrix, so every score is dataset-level:
per-class F1 = 2·TP / (|GT| + |Pred|) and, for Helen's label set, the grouped F1 of the Helen
protocol (eyes, brows, nose, mouth, overall). Missing and extra files (the command lists them
on stderr, by count and name) and label values outside the label set are reported, not
silently dropped. A prediction outside the label set is wrong (it counts against its pixel's
true class, see ``metrics.summarize``); a ground-truth pixel outside the label set cannot be
scored and is left out (counted in the report). Label maps are single-channel ids;
colour maps are read only through the colours of the dataset whose class names are in use,
and refused otherwise. The report says which label names file it used.

numpy and PIL only until scoring starts, so ``python f1_score.py --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facecolab.constants import IGNORE_INDEX
from facecolab.data.imageio import LABEL_SUFFIXES, read_grey
from facecolab.data.prepare import dataset_spec, split_files
from facecolab.data.specs import SPECS, DatasetSpec
from facecolab.fsutil import atomic_write_bytes, describe, held_output_file, input_folder
from facecolab.measures.metrics import confusion_matrix, format_table, summarize

LABEL_TAG = "_label"
IMAGE_TAG = "_image"  # Helen keeps <id>_image.jpg beside <id>_label.png
LABEL_NAMES_FILE = "label_names.txt"
SHOWN = 10  # file names listed per problem before "… and N more"


@dataclass
class FilePairs:
    """Prediction/ground-truth files matched by key (stem without ``_label``)."""

    pairs: list[tuple[str, Path, Path]] = field(default_factory=list)  # key, pred, gt
    missing: list[str] = field(default_factory=list)  # ground-truth files with no prediction
    extra: list[str] = field(default_factory=list)  # predictions with no ground truth


def label_key(path: Path, predictions: bool = False) -> str:
    """``123_label.png`` and ``123.png`` → ``123``; for predictions ``123_image.png`` (a
    label map named after Helen's ``123_image.jpg``) too."""
    stem = path.stem
    if predictions and stem.endswith(IMAGE_TAG):
        return stem.removesuffix(IMAGE_TAG)
    return stem.removesuffix(LABEL_TAG)


def list_label_files(folder, predictions: bool = False) -> dict[str, Path]:
    """Label-map files of ``folder`` by key (:func:`label_key`). In a ground-truth folder,
    JPEGs and ``*_image.*`` files are images (Helen keeps them beside the label maps), not
    label maps; in a prediction folder every PNG is a label map.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        NotADirectoryError: it is a file or a link to no folder (``fsutil.input_folder``).
        ValueError: two files share a key (e.g. ``1.png`` and ``1_label.png``).
    """
    folder = input_folder(folder, "prediction folder" if predictions else "label folder")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in LABEL_SUFFIXES:
            continue
        if not predictions and path.stem.endswith(IMAGE_TAG):
            continue
        key = label_key(path, predictions)
        if key in files:
            raise ValueError(f"{folder}: {files[key].name} and {path.name} both pair as {key!r}")
        files[key] = path
    return files


def ground_truth_files(gt_dir, split: str | None = None) -> tuple[dict[str, Path], list | None]:
    """``(label files by key, class names or None)`` of a ground-truth folder: the label maps
    in it, or, for a prepared folder (``dataset.json``), the labels of its split ``split``
    with the class names it records.

    Raises:
        ValueError: a prepared folder without ``split``, or ``split`` for a plain folder.
    """
    gt_dir = Path(gt_dir)
    if not (gt_dir / "dataset.json").is_file():
        if split is not None:
            raise ValueError(f"{gt_dir}: --split needs a prepared folder (with dataset.json)")
        return list_label_files(gt_dir), None
    if split is None:
        raise ValueError(f"{gt_dir}: a prepared folder; say which split to score (--split val)")

    _, labels = split_files(gt_dir, split)
    return {label_key(path): path for path in labels}, list(dataset_spec(gt_dir).class_names)


def pair_files(pred_dir, gt_dir, split: str | None = None) -> FilePairs:
    """Match predictions to ground truth by key (:func:`ground_truth_files`); raises
    ``ValueError`` when nothing pairs."""
    predictions = list_label_files(pred_dir, predictions=True)
    truths, _ = ground_truth_files(gt_dir, split)
    result = FilePairs(
        pairs=[(key, predictions[key], truths[key]) for key in truths if key in predictions],
        missing=[truths[key].name for key in truths if key not in predictions],
        extra=[predictions[key].name for key in predictions if key not in truths],
    )
    if not result.pairs:
        raise ValueError(
            f"no prediction in {pred_dir} pairs with a label in {gt_dir} "
            f"({len(predictions)} predictions, {len(truths)} labels; files pair by "
            f"stem, '{LABEL_TAG}' dropped, and '{IMAGE_TAG}' from predictions)"
        )
    return result


def read_label_names(path) -> list[str]:
    """Class names in id order from a whitespace-separated file (Helen's ``label_names.txt``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: label names file not found")
    names = path.read_text().split()
    if not names:
        raise ValueError(f"{path}: holds no label names")
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: label names repeat: {names}")
    return names


def find_label_names(gt_dir) -> Path | None:
    """``label_names.txt`` in the ground-truth folder or its parent (Helen keeps it beside
    ``train/`` and ``test/``); ``None`` if neither has one. The working folder is never
    searched: a stray file there would rename the classes silently."""
    gt_dir = Path(gt_dir)
    for folder in (gt_dir, gt_dir.parent):
        if (folder / LABEL_NAMES_FILE).is_file():
            return folder / LABEL_NAMES_FILE
    return None


def registered_spec(class_names) -> DatasetSpec | None:
    """The registered dataset spec with exactly these class names, else ``None``: its
    colours let a colour label map be read as ids, and its ``f1_groups`` are the grouped F1
    the report adds (Helen's for Helen's names)."""
    names = tuple(class_names)
    return next((spec for spec in SPECS.values() if spec.class_names == names), None)


def _read_pair(pred_path: Path, gt_path: Path, colours=None) -> tuple[np.ndarray, np.ndarray]:
    prediction, truth = read_grey(pred_path, colours), read_grey(gt_path, colours)
    if prediction.shape != truth.shape:
        raise ValueError(
            f"{pred_path}: size {prediction.shape[::-1]} differs from "
            f"{gt_path} {truth.shape[::-1]} (width, height)"
        )
    return prediction, truth


def _out_of_set(values: np.ndarray, num_classes: int, allowed=()) -> dict[int, int]:
    """``{value: pixel count}`` of ids ``>= num_classes`` other than ``allowed``."""
    ids, counts = np.unique(values[values >= num_classes], return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, counts, strict=True) if i not in allowed}


def ids_seen(gt_paths) -> list[int]:
    """Sorted ids present in the ground-truth files (the ignore label excluded)."""
    seen = np.zeros(256, dtype=bool)
    for path in gt_paths:
        seen[np.unique(read_grey(path))] = True
    seen[IGNORE_INDEX] = False
    return np.flatnonzero(seen).tolist()


def score_folders(pred_dir, gt_dir, class_names=None, split: str | None = None) -> dict:
    """Dataset-level scores of the label maps in ``pred_dir`` against ``gt_dir``.

    Args:
        class_names: names in id order; ``None``: a prepared ``gt_dir``'s own, else ids
            ``0 … max id in the ground truth``, named by id (so stray prediction values show
            up as out of set).
        split: the split of a prepared ``gt_dir`` to score against.

    Returns:
        JSON-ready ``{"pred_dir", "gt_dir", "class_names", "files_scored", "missing",
        "extra", "out_of_set": {"ground_truth"|"prediction": {file: {value: pixels}}},
        "excluded_pixels", "wrong_out_of_set", "confusion_matrix", "metrics"}`` where
        ``excluded_pixels`` counts ground-truth pixels outside the label set (not scored),
        ``wrong_out_of_set`` scored pixels predicted outside it (counted wrong; the matrix
        holds in-set predictions only) and ``metrics`` is ``facecolab.measures.metrics.summarize``
        (with Helen groups when the names are Helen's).
    """
    pairs = pair_files(pred_dir, gt_dir, split)
    if class_names is None:
        class_names = ground_truth_files(gt_dir, split)[1]
    if class_names is None:
        seen = ids_seen(gt for _, _, gt in pairs.pairs)
        if not seen:
            raise ValueError(f"{gt_dir}: ground truth holds only the ignore label {IGNORE_INDEX}")
        class_names = [str(i) for i in range(seen[-1] + 1)]
    class_names = list(class_names)
    num_classes = len(class_names)
    spec = registered_spec(class_names)
    colours = spec.colours if spec else None
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    wrong = np.zeros(num_classes, dtype=np.int64)  # per true class, predicted out of set
    out_of_set: dict[str, dict] = {"ground_truth": {}, "prediction": {}}
    excluded = 0
    for _, pred_path, gt_path in pairs.pairs:
        prediction, truth = _read_pair(pred_path, gt_path, colours)
        bad_truth = _out_of_set(truth, num_classes, allowed=(IGNORE_INDEX,))
        bad_prediction = _out_of_set(prediction, num_classes)
        if bad_truth:
            out_of_set["ground_truth"][gt_path.name] = bad_truth
        if bad_prediction:
            out_of_set["prediction"][pred_path.name] = bad_prediction
        scored = truth < num_classes  # the ignore label and out-of-set truth are not
        excluded += int(((truth >= num_classes) & (truth != IGNORE_INDEX)).sum())
        missed = scored & (prediction >= num_classes)
        wrong += np.bincount(truth[missed], minlength=num_classes)[:num_classes]
        truth = np.where(scored & ~missed, truth, IGNORE_INDEX)
        cm += confusion_matrix(truth, np.where(missed, 0, prediction), num_classes)
    groups = (dict(spec.f1_groups) or None) if spec else None
    return {
        "pred_dir": str(pred_dir),
        "gt_dir": str(gt_dir),
        "class_names": class_names,
        "files_scored": len(pairs.pairs),
        "missing": pairs.missing,
        "extra": pairs.extra,
        "out_of_set": out_of_set,
        "excluded_pixels": excluded,
        "wrong_out_of_set": int(wrong.sum()),
        "confusion_matrix": cm.tolist(),
        "metrics": summarize(cm, class_names, groups=groups, out_of_set=wrong),
    }


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" … and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def unpaired_lines(result: dict) -> list[str]:
    """The files of :func:`score_folders` that were not scored, by count and name."""
    lines = []
    if result["missing"]:
        lines.append(
            f"WARNING: {len(result['missing'])} ground-truth label maps in {result['gt_dir']} "
            f"have no prediction (not scored): {_listing(result['missing'])}"
        )
    if result["extra"]:
        lines.append(
            f"WARNING: {len(result['extra'])} predictions in {result['pred_dir']} have no "
            f"ground truth (not scored): {_listing(result['extra'])}"
        )
    return lines


def format_report(result: dict, unpaired: bool = True) -> str:
    """Markdown report of :func:`score_folders`: file problems first, then the table
    (``unpaired=False``: without :func:`unpaired_lines`, which the command prints on stderr)."""
    lines = [
        f"Scored {result['files_scored']} files: {result['pred_dir']} vs {result['gt_dir']}",
        f"Label names: {result.get('label_names') or 'none (classes are the ids seen)'}",
    ]
    if unpaired:
        lines += unpaired_lines(result)
    for side, files in result["out_of_set"].items():
        if files:
            values = sorted({int(v) for counts in files.values() for v in counts})
            lines.append(
                f"WARNING: {side.replace('_', ' ')} values {values} are outside the "
                f"{len(result['class_names'])} classes in {len(files)} files: "
                f"{_listing(list(files))}"
            )
    if result["excluded_pixels"]:
        lines.append(
            f"WARNING: {result['excluded_pixels']} ground-truth pixels with out-of-set "
            "values were left out (they cannot be scored)"
        )
    if result["wrong_out_of_set"]:
        lines.append(
            f"WARNING: {result['wrong_out_of_set']} predicted pixels are outside the label "
            "set; they are counted as wrong"
        )
    lines += ["", format_table(result["metrics"])]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``f1_score.py`` / ``facecolab score`` (one definition for both)."""
    parser.add_argument(
        "--pred",
        default="predict_image",
        help="folder of predicted label maps, PNG uint8 ids (default: %(default)s)",
    )
    parser.add_argument(
        "--gt",
        default="test",
        help="folder of ground-truth label maps, e.g. Helen's test folder with "
        "<id>_label.png (default: %(default)s)",
    )
    parser.add_argument(
        "--split",
        help="when --gt is a prepared folder (data_prep/load_data.py output): the split to "
        "score against, e.g. val; its dataset.json gives the class names",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help=f"class names in id order (default: {LABEL_NAMES_FILE} in the gt "
        "folder or its parent, never the working folder; without one, classes "
        "are the ids seen). The report names the file used.",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the full report as JSON")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --json file this command did not write (never an input)",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(
        argparse.ArgumentParser(
            prog="f1_score.py",
            description="Per-class and (Helen) grouped F1 of predicted label maps against ground "
            "truth, from one confusion matrix over all files.",
        )
    )


def run(args: argparse.Namespace) -> int:
    """Score with parsed ``args``; print the report, write JSON when asked (its place is
    checked before scoring)."""
    prepared = Path(args.gt, "dataset.json")
    labels = Path(args.labels) if args.labels else None
    if labels is None and not prepared.is_file():
        labels = find_label_names(args.gt)
    inputs = [args.pred, args.gt, prepared, *([labels] if labels else [])]
    inputs += [path for path in Path(args.gt).glob("*") if path.is_dir()]
    held = (
        held_output_file(args.json, inputs, overwrite=args.overwrite, command="score")
        if args.json
        else contextlib.nullcontext()
    )
    with held as out:
        return _score(args, labels, prepared, out)


def _score(args, labels, prepared, out) -> int:
    class_names = read_label_names(labels) if labels else None
    result = score_folders(args.pred, args.gt, class_names, args.split)
    result["label_names"] = str(labels or (prepared if prepared.is_file() else "")) or None
    for line in unpaired_lines(result):
        print(line, file=sys.stderr)
    print(format_report(result, unpaired=False))
    if out is not None:
        atomic_write_bytes(out, (json.dumps(result, indent=2) + "\n").encode())
        print(f"\nwrote {out}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as error:
        print(f"f1_score.py: error: {describe(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
