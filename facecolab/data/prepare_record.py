"""What a prepared folder was made from, so that a rerun never mixes outputs.

``prepare`` records its settings before writing any item (``OUT/.prepare-started.json``) and
again in ``dataset.json`` when it finishes. A rerun with the same settings resumes (and drops
items no longer listed, so it ends as a clean run would); a rerun with other settings, or
into a folder holding prepared files without a record, is refused before anything is
written. The seed and split fractions are not compared: they only regroup the same items, and
the split lists are rewritten at the end of every run.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from facecolab.data.specs import DatasetSpec
from facecolab.data.splits import SPLIT_SUFFIX, read_split_list
from facecolab.fsutil import OutputError, atomic_write_bytes

STARTED = ".prepare-started.json"
COMPARED = ("name", "spec", "relabel", "size", "aspect", "root", "format_options", "splits")
OUTPUT_FILES = {"images": ".jpg", "labels": ".png"}


def settings(name, spec, size, aspect, root, format_options, splits, relabel=None) -> dict:
    """The settings that decide what each prepared file holds, as JSON reads them back
    (lists, not tuples), so they compare equal to a record."""
    record = {
        "name": name,
        "spec": spec.to_dict(),
        "relabel": relabel,
        "size": [int(size[0]), int(size[1])],
        "aspect": aspect,
        "root": str(Path(root).resolve()),
        "format_options": dict(format_options or {}),
        "splits": list(splits),
    }
    return json.loads(json.dumps(record))


def _same_spec(recorded, wanted: dict) -> bool:
    """Whether a recorded spec is ``wanted``, read through :class:`DatasetSpec` so a record
    of an older version (an ``ignore_index`` field, no ``f1_groups``) compares by content."""
    try:
        spec = DatasetSpec.from_dict(recorded)
    except (KeyError, TypeError, ValueError):
        return False
    return json.loads(json.dumps(spec.to_dict())) == wanted


def _read(path: Path) -> dict:
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: unreadable ({error}); delete it or use another --out") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not a prepare record; delete it or use another --out")
    return record


def _holds_outputs(out: Path) -> bool:
    return any(
        (out / folder).is_dir() and any((out / folder).glob(f"*{suffix}"))
        for folder, suffix in OUTPUT_FILES.items()
    )


def check_rerun(out: Path, wanted: dict) -> None:
    """Refuse to write into ``out`` when its recorded settings differ from ``wanted`` or it
    holds prepared files without a record. Keys a record lacks (older versions) are not
    compared.

    Raises:
        ValueError: naming the record file, the setting and both values.
    """
    records = [out / "dataset.json", out / STARTED]
    for path in records:
        if path.exists() and not path.is_file():
            raise OutputError(f"{path}: is not a file; prepare writes its record there")
    found = [path for path in records if path.is_file()]
    if not found and _holds_outputs(out):
        raise ValueError(
            f"{out}: holds prepared files but no record of how they were made "
            f"(dataset.json); use an empty output folder"
        )
    for path in found:
        record = _read(path)
        for key in COMPARED:
            if key not in record or _same(key, record[key], wanted[key]):
                continue
            was, now = record[key], wanted[key]
            if key == "spec":
                was, now = "another class table", "this one"
            raise ValueError(
                f"{path}: {out} was prepared with {key} = {was!r}, not {now!r}; "
                "its files would mix: use another output folder or delete this one"
            )


def _same(key: str, recorded, wanted) -> bool:
    """Whether a recorded setting equals the wanted one; a root recorded relative (by an
    earlier version) is read against the working folder, as it was given, and a spec by
    content (:func:`_same_spec`)."""
    if key == "root" and isinstance(recorded, str):
        return str(Path(recorded).resolve()) == wanted
    if key == "spec":
        return recorded == wanted or _same_spec(recorded, wanted)
    return recorded == wanted


def mark_started(out: Path, wanted: dict) -> None:
    """Record ``wanted`` before any item is written."""
    atomic_write_bytes(out / STARTED, json.dumps(wanted, indent=2).encode())


def mark_finished(out: Path) -> None:
    """Drop the start record once ``dataset.json`` holds the settings."""
    (out / STARTED).unlink(missing_ok=True)


def forget_if_empty(out: Path) -> None:
    """Drop the start record of a failed run that left no prepared file (a run that wrote
    nothing leaves nothing)."""
    if not _holds_outputs(out):
        mark_finished(out)


def remove_stale(out: Path, keys: set[str], splits, recorded_splits) -> list[Path]:
    """Delete what an earlier run over a root that has changed since wrote and this run will
    not: prepared files of keys its split lists name but ``keys`` does not, and the lists of
    ``recorded_splits`` (the record's) not in ``splits``. Anything prepare's own record does
    not name (a file the user put there) is kept. Returns what was removed."""
    lists = [out / "splits" / f"{split}{SPLIT_SUFFIX}" for split in recorded_splits]
    written: set[str] = set()
    for path in lists:
        if path.is_file():
            with contextlib.suppress(ValueError, OSError):  # unreadable: names nothing
                written.update(read_split_list(path))
    stale = [
        path
        for folder, suffix in OUTPUT_FILES.items()
        if (out / folder).is_dir()
        for path in (out / folder).glob(f"*{suffix}")
        if path.name[: -len(suffix)] in written - keys
    ]
    stale += [path for path in lists if path.is_file() and path.stem not in set(splits)]
    for path in stale:
        path.unlink()
    return stale
