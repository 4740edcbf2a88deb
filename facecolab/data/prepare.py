"""Turn any raw layout into the one prepared layout the pipeline reads.

``OUT/images/<key>.jpg`` (RGB, resized), ``OUT/labels/<key>.png`` (uint8 ids, nearest),
``OUT/splits/<split>.txt`` and ``OUT/dataset.json``. Every file is written to a temporary
name and renamed, so an interrupted run leaves only whole files; a rerun skips keys whose
image and label both exist, so it resumes where it stopped. The output folder is checked and
locked before anything is written (``fsutil.output_folder``), and a rerun with other settings
is refused (``prepare_record``). Bad input items are reported and skipped; a failed write
stops the run with an ``OutputError`` naming the output.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from facecolab.console import progress_bar
from facecolab.data import prepare_record
from facecolab.data.imageio import read_image
from facecolab.data.labels import check_ids, get_relabel, remap_lut
from facecolab.data.readers import get_format
from facecolab.data.readers.base import DEFAULT_FRACTIONS, DatasetFormat, Item, relabelled
from facecolab.data.resize import fit_geometry, resize_image, resize_mask
from facecolab.data.specs import DatasetSpec, get_spec
from facecolab.data.splits import SPLIT_SUFFIX, check_split_name, read_split_list, split_list_bytes
from facecolab.fsutil import atomic_write_bytes, describe, input_folder, output_folder, read_json

JPEG_QUALITY = 95


@dataclass
class _Job:
    fmt: DatasetFormat
    item: Item
    out: Path
    size: tuple[int, int]
    aspect: str


@dataclass
class PrepareSummary:
    """What a ``prepare`` run did; ``bad`` lists ``(key, file, reason)``."""

    counts: dict[str, int] = field(default_factory=dict)
    written: int = 0
    skipped: int = 0
    bad: list[tuple[str, str, str]] = field(default_factory=list)
    class_pixels: dict[str, int] = field(default_factory=dict)


def _encode(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def _histogram(label: np.ndarray) -> np.ndarray:
    return np.bincount(label.ravel(), minlength=256)[:256]


def _finished(label_out: Path, size) -> np.ndarray | None:
    """The label map of an item an earlier run finished (``None``: redo it)."""
    try:
        with Image.open(label_out) as done:
            finished = np.asarray(done)
    except (OSError, ValueError):
        return None
    return finished if finished.shape == size else None


def _load(job: _Job) -> tuple[np.ndarray, np.ndarray]:
    """The item's image and label map at the prepared size; ``OSError``/``ValueError``
    naming the input file when it is unusable."""
    item, fmt = job.item, job.fmt
    source = str(item.label_paths[0]) if item.label_paths else item.key
    if not (item.image_path.exists() or item.image_path.is_symlink()):
        raise FileNotFoundError(f"{item.image_path}: image not found (its label is {source})")
    image = read_image(item.image_path)
    label = fmt.load_label(item)
    check_ids(label, fmt.spec.num_classes, source)
    if label.shape != image.shape[:2]:
        # Several datasets ship masks at another resolution (CelebAMask-HQ: 512 vs 1024);
        # that is fine as long as the aspect ratio agrees.
        ratio_image = image.shape[0] / image.shape[1]
        ratio_label = label.shape[0] / label.shape[1]
        if abs(ratio_image - ratio_label) > 0.01:
            raise ValueError(
                f"{source}: mask size {label.shape[::-1]} does not match image "
                f"{item.image_path} size {image.shape[1::-1]}"
            )
    return resize_image(image, job.size, job.aspect), resize_mask(label, job.size, job.aspect)


def _process(job: _Job):
    """Write one item; returns ``(key, histogram, wrote, error)``. Bad input is returned as
    ``error``; a failed write raises ``OutputError`` (it is not the item's fault)."""
    image_out = job.out / "images" / f"{job.item.key}.jpg"
    label_out = job.out / "labels" / f"{job.item.key}.png"
    if image_out.exists() and (finished := _finished(label_out, job.size)) is not None:
        return job.item.key, _histogram(finished), False, None
    try:
        image, label = _load(job)
    except (OSError, ValueError) as error:
        return job.item.key, None, False, describe(error)
    atomic_write_bytes(image_out, _encode(image, "JPEG", quality=JPEG_QUALITY))
    atomic_write_bytes(label_out, _encode(label, "PNG"))
    return job.item.key, _histogram(label), True, None


def _remove_stale_temporaries(out: Path) -> None:
    """Delete ``.*.tmp`` files an interrupted run left behind (they never count as done)."""
    for folder in (out / "images", out / "labels", out / "splits", out):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


# Room in a 255-byte file name for the ".jpg" suffix and atomic_write_bytes' temporary name.
MAX_KEY_BYTES = 255 - len(".jpg") - len("..12345678.tmp")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be the stem of prepared files (``None`` when it can): it comes
    from raw file names and list files, so it may hold anything."""
    if "/" in key or "\x00" in key:
        return "holds '/' or a NUL byte (a path, not a file name)"
    if not key or key.startswith("."):
        return "is empty or starts with '.'"
    if len(os.fsencode(key)) > MAX_KEY_BYTES:
        return f"is longer than {MAX_KEY_BYTES} bytes"
    return None


@dataclass(frozen=True)
class PrepareOptions:
    """What decides the prepared files. ``dataset.json`` records them, and a rerun into the
    folder with other values is refused (``prepare_record``; the seed and fractions only
    regroup the same items and are not compared).

    Attributes:
        size: ``(height, width)`` of the prepared images and label maps.
        aspect: how images are fitted to ``size`` (``resize.ASPECT_MODES``).
        splits: the splits to prepare (default: every split of the layout that exists).
        fractions: train/val/test fractions for layouts without an official split.
        seed: the seed of those seeded splits.
        format_options: extra keyword arguments of the reader's ``list_items`` (e.g.
            celeba_face's ``img_prefix``, ``label_prefix``, ``train_file``, ``val_file``,
            ``test_file``).
        relabel: a ``labels.RELABEL_TABLES`` name: write the labels in that table's target
            ids (e.g. ``"helen"`` on CelebAMask-HQ).
    """

    size: tuple[int, int] = (256, 256)
    aspect: str = "stretch"
    splits: tuple[str, ...] | None = None
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = 0
    format_options: Mapping = field(default_factory=dict)
    relabel: str | None = None


def prepare(
    dataset: str | DatasetFormat,
    root,
    out,
    options: PrepareOptions | None = None,
    *,
    workers: int | None = None,
    strict: bool = False,
    progress: bool = True,
) -> PrepareSummary:
    """Prepare raw dataset ``dataset`` from ``root`` into ``out``.

    Args:
        dataset: a registered dataset name, or a format to read with instead (e.g.
            ``readers.face8.build_format(table)`` for another merge; its spec's name is
            recorded).
        options: what the prepared files hold (:class:`PrepareOptions`; default: its defaults).
        workers: processes (default: all cores).
        strict: stop at the first bad item (``ValueError`` naming it) instead of reporting.
        progress: show a progress bar.

    Returns:
        A :class:`PrepareSummary`; ``dataset.json`` in ``out`` records the same.
    """
    options = options or PrepareOptions()
    fmt = get_format(dataset) if isinstance(dataset, str) else dataset
    name = fmt.spec.name
    relabel_record = None
    if options.relabel is not None:
        table = get_relabel(options.relabel)
        fmt = relabelled(fmt, table)
        relabel_record = table.to_dict()
    root, out = input_folder(root, "dataset root folder"), Path(out)
    size, aspect = (int(options.size[0]), int(options.size[1])), options.aspect
    fit_geometry((1, 1), size, aspect)  # validates aspect before any work
    format_options, splits = dict(options.format_options), options.splits
    wanted = tuple(splits) if splits else fmt.splits
    items_by_split: dict[str, list[Item]] = {}
    missing: list[str] = []
    for split in wanted:
        try:
            items_by_split[split] = fmt.list_items(
                root, split, seed=options.seed, fractions=options.fractions, **format_options
            )
        except TypeError as error:  # an option this reader does not take
            raise ValueError(f"{name}: bad format options {format_options}: {error}") from None
        except FileNotFoundError as error:
            if splits:  # asked for explicitly
                raise
            missing.append(describe(error))
    if not any(items_by_split.values()):
        reason = f" ({'; '.join(missing)})" if missing else ""
        raise FileNotFoundError(f"{root}: no {name} items found for splits {wanted}{reason}")
    _check_unique_keys(items_by_split)
    wanted_settings = prepare_record.settings(
        name, fmt.spec, size, aspect, root, format_options, wanted, relabel_record
    )
    with output_folder(out, ("images", "labels", "splits")):
        prepare_record.check_rerun(out, wanted_settings)
        prepare_record.mark_started(out, wanted_settings)
        try:
            _remove_stale_temporaries(out)
            listed = {item.key for items in items_by_split.values() for item in items}
            prepare_record.remove_stale(out, listed, items_by_split, wanted_settings["splits"])
            summary = _run_jobs(
                name, fmt, items_by_split, out, size, aspect, workers, strict, progress
            )
            record = wanted_settings | {
                "seed": options.seed,
                "fractions": list(options.fractions),
                "counts": summary.counts,
                "class_pixels": summary.class_pixels,
                "bad_items": [{"key": k, "file": f, "reason": r} for k, f, r in summary.bad],
            }
            atomic_write_bytes(out / "dataset.json", json.dumps(record, indent=2).encode())
        except BaseException:
            prepare_record.forget_if_empty(out)
            raise
        prepare_record.mark_finished(out)
    return summary


def _run_jobs(name, fmt, items_by_split, out, size, aspect, workers, strict, progress):
    """Process every item (in ``workers`` processes), then write the split lists of the good
    ones. Raises ``ValueError`` when no item at all could be prepared."""
    tqdm = progress_bar()

    summary = PrepareSummary()
    histogram = np.zeros(256, dtype=np.int64)
    good: set[str] = set()
    jobs = []
    for items in items_by_split.values():
        for item in items:
            problem = key_problem(item.key)
            if problem is None:
                jobs.append(_Job(fmt, item, out, size, aspect))
            elif strict:
                raise ValueError(f"{item.key!r}: {item.image_path}: key {problem}")
            else:
                summary.bad.append((item.key, str(item.image_path), f"key {problem}"))
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), desc=f"prepare {name}", disable=not progress, unit="img")

    def consume(result):
        key, hist, wrote, error = result
        bar.update(1)
        if error is not None:
            if strict:
                raise ValueError(f"{key}: {error}")
            summary.bad.append((key, *_split_reason(error)))
            return
        good.add(key)
        histogram[:] += hist
        summary.written += wrote
        summary.skipped += not wrote

    try:
        if workers == 1:
            for job in jobs:
                consume(_process(job))
        else:
            pool = ProcessPoolExecutor(max_workers=workers)
            try:
                chunk = max(1, min(8, len(jobs) // (4 * workers)))
                for result in pool.map(_process, jobs, chunksize=chunk):
                    consume(result)
            finally:  # on a strict failure, a failed write or Ctrl-C, drop the queued items
                pool.shutdown(cancel_futures=True)
    finally:
        bar.close()
    if not good:
        examples = "; ".join(f"{k}: {f}: {r}" if f else f"{k}: {r}" for k, f, r in summary.bad[:3])
        raise ValueError(f"no item could be prepared ({len(summary.bad)} bad, e.g. {examples})")

    for split, items in items_by_split.items():
        keys = [item.key for item in items if item.key in good]
        summary.counts[split] = len(keys)
        atomic_write_bytes(out / "splits" / f"{split}{SPLIT_SUFFIX}", split_list_bytes(keys))
    summary.class_pixels = {
        cls: int(histogram[i]) for i, cls in enumerate(fmt.spec.class_names)
    } | ({"ignore": int(histogram[255])} if histogram[255] else {})
    return summary


def _check_unique_keys(items_by_split: dict[str, list[Item]]) -> None:
    """Two items with one key would overwrite each other's prepared files."""
    seen: dict[str, Item] = {}
    for items in items_by_split.values():
        for item in items:
            if item.key in seen:
                raise ValueError(
                    f"{item.image_path}: key {item.key!r} is also used by "
                    f"{seen[item.key].image_path}; prepared file names would collide"
                )
            seen[item.key] = item


def _split_reason(error: str) -> tuple[str, str]:
    """``"path: reason"`` → ``(path, reason)`` (messages from readers name the file first)."""
    head, sep, tail = error.partition(": ")
    return (head, tail) if sep else ("", error)


def read_dataset_info(prepared_dir) -> dict:
    """The ``dataset.json`` of a prepared folder (``FileNotFoundError`` says how to make it)."""
    path = Path(prepared_dir) / "dataset.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: prepare the dataset first "
            "(python data_prep/load_data.py --dataset NAME --root RAW --out DIR)"
        )
    info = read_json(path)
    if not isinstance(info, dict) or not {"spec", "size"} <= set(info):
        raise ValueError(f"{path}: not a prepared dataset record (needs spec and size)")
    return info


def dataset_spec(prepared_dir) -> DatasetSpec:
    """The :class:`DatasetSpec` recorded in a prepared folder."""
    return DatasetSpec.from_dict(read_dataset_info(prepared_dir)["spec"])


def split_files(prepared_dir, split: str) -> tuple[list[Path], list[Path]]:
    """Image and label paths of a prepared split (``FileNotFoundError`` names the list)."""
    root = Path(prepared_dir)
    list_path = root / "splits" / f"{check_split_name(split)}{SPLIT_SUFFIX}"
    if not list_path.exists():
        available = sorted(p.stem for p in (root / "splits").glob(f"*{SPLIT_SUFFIX}"))
        raise FileNotFoundError(f"{list_path}: no split {split!r} (available: {available})")
    keys = read_split_list(list_path)
    if not keys:
        raise ValueError(f"{list_path}: split {split!r} is empty")
    images = [root / "images" / f"{k}.jpg" for k in keys]
    labels = [root / "labels" / f"{k}.png" for k in keys]
    return images, labels


def _pair_problem(image: Path, label: Path, size) -> str | None:
    """Why a prepared item cannot be trained on (``None`` when it can): read from the files'
    headers only, so a whole split is checked in seconds."""
    sizes = []
    for path in (image, label):
        try:
            if path.stat().st_size == 0:
                return f"{path}: empty file (0 bytes)"
            with Image.open(path) as opened:
                sizes.append(opened.size[::-1])
        except FileNotFoundError:
            return f"{path}: missing"
        except Exception as error:
            return f"{path}: cannot read ({error})"
    if list(sizes[1]) != list(size) or list(sizes[0]) != list(size):
        wrong = label if list(sizes[1]) != list(size) else image
        got = sizes[1] if wrong == label else sizes[0]
        return f"{wrong}: {got[0]}x{got[1]} where the prepared size is {size[0]}x{size[1]}"
    return None


def checked_split_files(prepared_dir, split: str, skip_bad: bool = False):
    """:func:`split_files` with every item checked (:func:`_pair_problem`): a bad one is a
    ``ValueError`` naming its file, or, with ``skip_bad``, left out with a count on stderr."""
    images, labels = split_files(prepared_dir, split)
    size = read_dataset_info(prepared_dir)["size"]
    kept, bad = ([], []), []
    for image, label in zip(images, labels, strict=True):
        problem = _pair_problem(image, label, size)
        if problem is None:
            kept[0].append(image)
            kept[1].append(label)
        elif not skip_bad:
            raise ValueError(
                f"{problem}; prepare the folder again, or skip bad items (train --skip-bad)"
            )
        else:
            bad.append(problem)
    if bad:
        print(
            f"warning: skipped {len(bad)} bad items of split {split!r} of {prepared_dir} "
            f"(e.g. {bad[0]})",
            file=sys.stderr,
        )
    if not kept[0]:
        raise ValueError(f"{prepared_dir}: every item of split {split!r} is bad")
    return kept


def relabel_prepared(prepared_dir, out, relabel: str) -> dict:
    """A copy of a prepared folder with its labels sent through relabel table ``relabel``,
    without going back to the raw data (what ``prepare`` writes with
    ``PrepareOptions(relabel=relabel)`` at the same size). Images are hard-linked when the
    file system allows, else copied.

    Returns:
        The new ``dataset.json`` record.

    Raises:
        ValueError: the folder's labels are not the table's source label set, or ``out``
            already holds a prepared folder.
    """
    source = Path(prepared_dir)
    info = read_dataset_info(source)
    table = get_relabel(relabel)
    if info.get("relabel") or info["spec"]["name"] != table.source:
        raise ValueError(
            f"{source}: holds {info['spec']['name']} labels; table {relabel!r} reads "
            f"{table.source} labels"
        )
    lut = remap_lut(table.table, unmapped="ignore")
    histogram = np.zeros(256, dtype=np.int64)
    with output_folder(out, ("images", "labels", "splits")) as out:
        if (out / "dataset.json").exists():
            raise ValueError(f"{out}: already a prepared folder; use another output folder")
        for split_list in sorted((source / "splits").glob(f"*{SPLIT_SUFFIX}")):
            atomic_write_bytes(out / "splits" / split_list.name, split_list.read_bytes())
        for label_path in sorted((source / "labels").glob("*.png")):
            with Image.open(label_path) as label:
                relabelled_ids = lut[np.asarray(label)]
            histogram += _histogram(relabelled_ids)
            atomic_write_bytes(out / "labels" / label_path.name, _encode(relabelled_ids, "PNG"))
            image = source / "images" / f"{label_path.stem}.jpg"
            target = out / "images" / image.name
            if image.exists() and not target.exists():
                try:
                    os.link(image, target)
                except OSError:
                    atomic_write_bytes(target, image.read_bytes())
        spec = get_spec(table.target)
        record = info | {
            "spec": spec.to_dict(),
            "relabel": table.to_dict(),
            "class_pixels": {cls: int(histogram[i]) for i, cls in enumerate(spec.class_names)}
            | ({"ignore": int(histogram[255])} if histogram[255] else {}),
        }
        atomic_write_bytes(out / "dataset.json", json.dumps(record, indent=2).encode())
    return record
