"""Hostile preparation: outputs that cannot be written, inputs that cannot be read or are
booby-trapped, reruns that would mix outputs, file names that break naive split lists. Each
case states the exit code, the message and exactly what is left in the output folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hostile_kit import SIZE, files, one_line_error, prepare_cli, run_python, snapshot
from PIL import Image

from facecolab.data import prepare as prepare_module
from facecolab.data.prepare_record import STARTED
from facecolab.data.sample import write_sample
from facecolab.data.splits import read_split_list
from facecolab.fsutil import LOCK_NAME, output_folder

PREPARE = (
    "import sys; from facecolab.cli.prepare import main; "
    "sys.exit(main(sys.argv[1:] + ['--workers', '1', '--no-progress']))"
)


@pytest.fixture
def portrait(tmp_path):
    """``write(count=6) -> root`` of a fresh portrait sample (``train|val/data|label_1``)."""
    return lambda count=6: write_sample("portrait", tmp_path / "raw", count=count, size=40)


def prepare(capsys, root, out, *extra, dataset="portrait"):
    return prepare_cli(
        capsys, "--dataset", dataset, "--root", root, "--out", out, "--size", SIZE, *extra
    )


# ---- the output side: (how the output is broken, message); the files left are exactly
# those there before (the snapshot of OUT's parent is unchanged) ---------------------------


def _out_is_a_file(out):
    out.write_text("precious")


def _images_is_a_file(out):
    out.mkdir()
    (out / "images").write_text("precious")


def _splits_is_a_file(out):
    out.mkdir()
    (out / "splits").write_text("precious")


def _record_is_a_folder(out):
    (out / "dataset.json").mkdir(parents=True)


def _out_below_a_file(out):
    out.parent.joinpath("file").write_text("precious")
    return out.parent / "file" / "out"


OUTPUT_CASES = [
    (_out_is_a_file, r"{out}: output folder exists and is not a folder"),
    (_images_is_a_file, r"{out}/images: output folder exists and is not a folder"),
    (_splits_is_a_file, r"{out}/splits: output folder exists and is not a folder"),
    (_record_is_a_folder, r"{out}/dataset\.json: is not a file; prepare writes its record"),
    (_out_below_a_file, r"{out}: cannot create output folder \(.*Not a directory\)"),
]


@pytest.mark.parametrize(
    ("break_output", "message"), OUTPUT_CASES, ids=lambda v: getattr(v, "__name__", "")
)
def test_broken_output_fails_before_any_item(capsys, portrait, tmp_path, break_output, message):
    root, out = portrait(), tmp_path / "o" / "out"
    out.parent.mkdir()
    out = break_output(out) or out
    before = snapshot(out.parent)
    code, stdout, err = prepare(capsys, root, out)
    assert code == 2 and stdout == ""
    one_line_error(err, message.format(out=out), prefix="error: ")
    assert snapshot(out.parent) == before  # nothing written, nothing overwritten


def _reference_sizes(capsys, root, tmp_path) -> tuple[int, int]:
    """(start record size, smallest prepared JPEG) of a clean run, to pick a file-size limit
    that lets the record through and stops the first image."""
    reference = tmp_path / "reference"
    real_finish = prepare_module.prepare_record.mark_finished
    record_size = []

    def measure(out):
        record_size.append((out / STARTED).stat().st_size)
        real_finish(out)

    prepare_module.prepare_record.mark_finished = measure
    try:
        assert prepare(capsys, root, reference)[0] == 0
    finally:
        prepare_module.prepare_record.mark_finished = real_finish
    smallest = min(p.stat().st_size for p in (reference / "images").glob("*.jpg"))
    return record_size[0], smallest


def test_full_disk_is_blamed_on_the_output(capsys, portrait, tmp_path):
    """A write fails mid-run (file-size limit: EFBIG, as ENOSPC on a full disk): the run
    stops with the output file named, exit 2, and leaves no partial file, no split list and no
    dataset.json — not 'bad items' and exit 0."""
    root = portrait()
    record, smallest = _reference_sizes(capsys, root, tmp_path)
    assert record < smallest
    out = tmp_path / "out"
    result = run_python(PREPARE, "--dataset", "portrait", "--root", root, "--out", out,
                        "--size", SIZE, fsize=record + 1)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    one_line_error(
        result.stderr, rf"^error: {out}/images/\S+\.jpg: cannot write \(File too large\)$"
    )
    assert not out.exists()  # the run wrote nothing whole, so it left nothing


def test_unwritable_output_folder(capsys, portrait, tmp_path):
    root, out = portrait(), tmp_path / "out"
    out.mkdir(mode=0o555)
    result = run_python(PREPARE, "--dataset", "portrait", "--root", root, "--out", out,
                        permissions=True)  # fmt: skip
    assert result.returncode == 2
    one_line_error(
        result.stderr, rf"^error: {out}: output folder is not writable \(Permission denied\)$"
    )
    assert files(out) == []


def test_output_folder_busy(capsys, portrait, tmp_path):
    root, out = portrait(), tmp_path / "out"
    with output_folder(out):  # another prepare (another open file: flock conflicts)
        code, _, err = prepare(capsys, root, out)
    assert code == 2
    one_line_error(err, rf"error: {out}: in use by another facecolab process \(pid {os.getpid()}\)")
    assert not out.exists()


# ---- the input side ---------------------------------------------------------------------


def test_unreadable_input_folder(portrait, tmp_path):
    root, out = portrait(), tmp_path / "out"
    (root / "train" / "data").chmod(0o000)
    try:
        result = run_python(PREPARE, "--dataset", "portrait", "--root", root, "--out", out,
                            permissions=True)  # fmt: skip
    finally:
        (root / "train" / "data").chmod(0o755)
    assert result.returncode == 2
    one_line_error(result.stderr, rf"^error: {root}/train/data: Permission denied$")
    assert not out.exists()


def _root_is_a_loop(root):
    shutil.rmtree(root)
    root.symlink_to(root)
    return rf"{root}: dataset root folder is a symbolic link that leads to no folder"


def _split_is_a_loop(root):
    shutil.rmtree(root / "train")
    (root / "train").symlink_to(root / "train")
    return rf"{root}/train: portrait train folder is a symbolic link that leads to no folder"


def _root_is_a_file(root):
    shutil.rmtree(root)
    root.write_text("x")
    return rf"{root}: dataset root folder is not a folder"


def _root_missing(root):
    shutil.rmtree(root)
    return rf"{root}: dataset root folder not found"


def _two_files_one_stem(root):
    first = sorted((root / "train" / "data").iterdir())[0]
    shutil.copy(first, first.with_suffix(".bmp"))
    return rf"{root}/train/data: {first.stem}\.bmp and {first.name} share a stem"


def _every_item_bad(root):
    for mask in root.rglob("label_1/*"):
        mask.write_bytes(b"not a png")
    return r"no item could be prepared \(6 bad, e\.g\. \S+: \S+: cannot read mask"


INPUT_CASES = [
    _root_is_a_loop,
    _split_is_a_loop,
    _root_is_a_file,
    _root_missing,
    _two_files_one_stem,
    _every_item_bad,
]


@pytest.mark.parametrize("break_input", INPUT_CASES, ids=lambda f: f.__name__)
def test_broken_input_stops_with_its_name(capsys, portrait, tmp_path, break_input):
    root, out = portrait(), tmp_path / "out"
    message = break_input(root)
    code, stdout, err = prepare(capsys, root, out)
    assert code == 2 and stdout == ""
    one_line_error(err, message, prefix="error: ")
    assert not out.exists()


# (how one item is broken → its key, the file and reason reported): the run goes on.


def _mask_without_image(root):
    image = sorted((root / "train" / "data").iterdir())[0]
    image.unlink()
    return f"train_{image.stem}", rf"{root}/train/data/{image.stem}\.jpg", "image not found"


def _image_without_mask(root):
    mask = sorted((root / "train" / "label_1").iterdir())[0]
    mask.unlink()
    return f"train_{mask.stem}", rf"{root}/train/label_1/{mask.stem}\.png", "No such file"


def _image_is_a_symlink_loop(root):
    image = sorted((root / "train" / "data").iterdir())[0]
    image.unlink()
    image.symlink_to(image)
    return f"train_{image.stem}", re_escape(image), "Too many levels of symbolic links"


def _image_is_a_dangling_link(root):
    image = sorted((root / "train" / "data").iterdir())[0]
    image.unlink()
    image.symlink_to(root / "nowhere.jpg")
    return f"train_{image.stem}", re_escape(image), "No such file"


def _mask_in_colour(root):
    mask = sorted((root / "train" / "label_1").iterdir())[0]
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[..., 0] = 255  # red: is it a person or not? refused, not guessed
    Image.fromarray(rgb).save(mask)
    return f"train_{mask.stem}", re_escape(mask), "colour image .* label map"


def _float_image(root):
    image = sorted((root / "train" / "data").iterdir())[0]
    image.unlink()
    image = image.with_suffix(".png")
    Image.fromarray(np.ones((40, 40), np.float32)).save(image.with_suffix(".tif"))
    image.with_suffix(".tif").rename(image)
    return f"train_{image.stem}", re_escape(image), "32-bit float image"


def re_escape(path) -> str:
    import re

    return re.escape(str(path))


ITEM_CASES = [
    _mask_without_image,
    _image_without_mask,
    _image_is_a_symlink_loop,
    _image_is_a_dangling_link,
    _mask_in_colour,
    _float_image,
]


@pytest.mark.parametrize("break_item", ITEM_CASES, ids=lambda f: f.__name__)
def test_bad_item_is_reported_by_file(capsys, portrait, tmp_path, break_item):
    root, out = portrait(), tmp_path / "out"
    key, file, reason = break_item(root)
    code, stdout, err = prepare(capsys, root, out)
    assert (code, err) == (0, "")
    info = json.loads((out / "dataset.json").read_text())
    assert [bad["key"] for bad in info["bad_items"]] == [key]
    import re

    assert re.fullmatch(file, info["bad_items"][0]["file"]), info["bad_items"][0]
    assert re.search(reason, info["bad_items"][0]["reason"]), info["bad_items"][0]
    assert f"bad {key}: " in stdout
    assert key not in read_split_list(out / "splits" / "train.txt")
    assert not (out / "images" / f"{key}.jpg").exists()


def test_list_file_keys_cannot_escape_the_output(capsys, tmp_path):
    """Helen's list layout takes keys from ``train.txt``: ``../../evil`` is a path, not an id,
    so the listing is refused with the list file and line named, before anything is written
    (class B: a path read from a list is confined to its root)."""
    raw = write_sample("helen", tmp_path / "helen", count=6, size=40)
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(raw / "label_names.txt", flat)
    for folder in ("train", "test"):
        ids = []
        for image in sorted((raw / folder).glob("*_image.jpg")):
            shutil.copy(image, flat)
            shutil.copy(str(image).replace("_image.jpg", "_label.png"), flat)
            ids.append(image.name.removesuffix("_image.jpg"))
        (flat / f"{folder}.txt").write_text("\n".join(ids) + "\n")
    lines = len((flat / "train.txt").read_text().splitlines())
    with (flat / "train.txt").open("a") as handle:
        handle.write("../../evil\n/tmp/absolute\n")
    out = tmp_path / "deep" / "out"
    code, _, err = prepare(capsys, flat, out, dataset="helen")
    assert code == 2
    assert f"train.txt line {lines + 1}: id '../../evil'" in err
    assert not (tmp_path / "evil.jpg").exists() and not Path("/tmp/absolute.jpg").exists()
    assert not (out / "images").exists()


# ---- reruns --------------------------------------------------------------------------------


def _interrupted(monkeypatch, capsys, root, out, after=2):
    real, done = prepare_module._process, []

    def dies(job):
        if len(done) == after:
            raise KeyboardInterrupt
        done.append(job)
        return real(job)

    monkeypatch.setattr(prepare_module, "_process", dies)
    with pytest.raises(KeyboardInterrupt):
        prepare(capsys, root, out)
    monkeypatch.setattr(prepare_module, "_process", real)


RERUNS = [
    # (first run: "interrupted" | "finished", rerun arguments, message)
    ("interrupted", ["--aspect", "letterbox"], r"was prepared with aspect = 'stretch', not "),
    ("finished", ["--aspect", "crop"], r"dataset\.json: .* aspect = 'stretch', not 'crop'"),
    ("finished", ["--size", "16"], r"size = \[32, 32\], not \[16, 16\]"),
    ("finished", ["--root", "{copy}"], r"was prepared with root = '{root}', not '{copy}'"),
    ("interrupted", ["--root", "{copy}"], r"\.prepare-started\.json: .* root = '{root}'"),
]


@pytest.mark.parametrize(("first", "extra", "message"), RERUNS, ids=range(len(RERUNS)))
def test_rerun_with_other_settings_is_refused(
    capsys, monkeypatch, portrait, tmp_path, first, extra, message
):
    root, out = portrait(), tmp_path / "out"
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    if first == "interrupted":
        _interrupted(monkeypatch, capsys, root, out)
    else:
        assert prepare(capsys, root, out)[0] == 0
    before = snapshot(out)
    argv = [a.format(copy=copy) for a in extra]
    if "--root" in argv:
        root = argv.pop(argv.index("--root") + 1)
        argv.remove("--root")
    code, _, err = prepare(capsys, root, out, *argv)
    assert code == 2
    one_line_error(err, message.format(root=tmp_path / "raw", copy=copy), prefix="error: ")
    assert err.rstrip().endswith("use another output folder or delete this one")
    assert snapshot(out) == before


def test_rerun_into_foreign_files_is_refused(capsys, portrait, tmp_path):
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "images" / "someone.jpg").write_bytes(b"theirs")
    code, _, err = prepare(capsys, portrait(), out)
    assert code == 2
    one_line_error(err, rf"{out}: holds prepared files but no record of how they were made")
    assert files(out) == ["images/someone.jpg"]


def test_rerun_with_an_unreadable_record_is_refused(capsys, portrait, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset.json").write_text("{half")
    code, _, err = prepare(capsys, portrait(), out)
    assert code == 2
    one_line_error(err, rf"{out}/dataset\.json: unreadable .* delete it or use another --out")
    assert files(out) == ["dataset.json"]


def test_rerun_after_the_root_lost_items_matches_a_clean_run(capsys, portrait, tmp_path):
    root = portrait(count=8)
    out, clean = tmp_path / "out", tmp_path / "clean"
    assert prepare(capsys, root, out)[0] == 0
    for stem in ("val", "train"):  # drop one item of each split from the raw data
        image = sorted((root / stem / "data").iterdir())[0]
        image.unlink()
        (root / stem / "label_1" / f"{image.stem}.png").unlink()
    assert prepare(capsys, root, out)[0] == 0
    assert prepare(capsys, root, clean)[0] == 0
    ours, theirs = snapshot(out), snapshot(clean)
    ours.pop("dataset.json"), theirs.pop("dataset.json")  # they name their own folders
    assert ours == theirs


# ---- file names -----------------------------------------------------------------------------

HOSTILE_NAMES = [
    "my photo",
    " leading and trailing ",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "100% sure",
    "%0A not an escape",
    "ünïcödé ✓",
    "-rf",
    "semi;colon & 'quote' \"double\"",
    os.fsdecode(b"latin1-\xe9"),  # not UTF-8
]


def test_any_legal_file_name_survives_the_split_lists(capsys, portrait, tmp_path):
    """Every file name a file system allows reaches training: prepared, listed, and read
    back by the tf.data pipeline (a space used to kill training mid-epoch)."""
    from facecolab.data.tf_pipeline import make_dataset

    root = portrait(count=2 * len(HOSTILE_NAMES))
    images = sorted((root / "train" / "data").iterdir())[: len(HOSTILE_NAMES)]
    for name, image in zip(HOSTILE_NAMES, images, strict=True):
        image.rename(image.with_name(f"{name}.jpg"))
        mask = root / "train" / "label_1" / f"{image.stem}.png"
        mask.rename(mask.with_name(f"{name}.png"))
    out = tmp_path / "out"
    code, _, err = prepare(capsys, root, out)
    assert code == 0, err
    keys = read_split_list(out / "splits" / "train.txt")
    assert {f"train_{name}" for name in HOSTILE_NAMES} <= set(keys)
    batches = make_dataset(out, "train", batch_size=4, cache=False)
    assert sum(int(images.shape[0]) for images, _ in batches) == len(keys)


def test_too_long_a_name_is_a_bad_item(capsys, portrait, tmp_path):
    root = portrait()
    image = sorted((root / "train" / "data").iterdir())[0]
    long = "x" * 240
    image.rename(image.with_name(f"{long}.jpg"))
    (root / "train" / "label_1" / f"{image.stem}.png").rename(
        root / "train" / "label_1" / f"{long}.png"
    )
    out = tmp_path / "out"
    assert prepare(capsys, root, out)[0] == 0
    bad = json.loads((out / "dataset.json").read_text())["bad_items"]
    assert [(b["key"], b["reason"]) for b in bad] == [
        (f"train_{long}", "key is longer than 237 bytes")
    ]


def test_lock_file_never_stays(capsys, portrait, tmp_path):
    out = tmp_path / "out"
    assert prepare(capsys, portrait(), out)[0] == 0
    assert LOCK_NAME not in files(out) and STARTED not in files(out)
