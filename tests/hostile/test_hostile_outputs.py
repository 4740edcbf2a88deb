"""Issue 19, second round: outputs never destroy inputs, paths from data files stay inside
their root, resources are bounded, bad prepared items are named, nothing is silently wrong,
messages name the file. Each case states the exit code, the message, that every input is
byte-identical afterwards and that no temporary file is left (docs/DESIGN.md, "Outputs and
inputs: the policy")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hostile_kit import (
    SIZE,
    call,
    f1_score,
    facecolab,
    files,
    one_line_error,
    prepare_cli,
    run_python,
    snapshot,
    start_python,
)
from PIL import Image

from facecolab.fsutil import RECORD_NAME, TEMP_NAME


def outputs(folder) -> dict[str, str]:
    """:func:`snapshot` less the record of what each command wrote (it grows on reruns)."""
    return {name: digest for name, digest in snapshot(folder).items() if RECORD_NAME not in name}


def temporaries(folder) -> list[str]:
    """Temporary files (``fsutil.TEMP_NAME``) or locks left anywhere under ``folder``."""
    return [
        name
        for name in files(folder)
        if TEMP_NAME.match(Path(name).name) or Path(name).name == ".facecolab.lock"
    ]


@pytest.fixture
def photos(tmp_path) -> Path:
    """Two small photos in their own folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        array = rng.integers(0, 255, (SIZE + 8, SIZE, 3), dtype=np.uint8)
        Image.fromarray(array).save(folder / f"{name}.png")
    return folder


@pytest.fixture
def prepared_copy(lfw_prepared, tmp_path):
    """``make() -> path``: a writable copy of the prepared LFW sample."""

    def make() -> Path:
        return Path(shutil.copytree(lfw_prepared, tmp_path / "prepared"))

    return make


def predict(capsys, model, source, out, *extra):
    return facecolab(
        capsys,
        "predict",
        "--model",
        model,
        "--input",
        source,
        "--out",
        out,
        "--no-progress",
        "--no-face-crop",
        *extra,
    )


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width × height`` (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


# ---- A. outputs over inputs ----------------------------------------------------------------


def _out_is_the_input_folder(photos, run, prepared):
    return [photos, photos], r"output folder holds predict's input"


def _out_is_a_link_to_the_input_folder(photos, run, prepared):
    link = photos.parent / "link"
    link.symlink_to(photos)
    return [photos, link], r"link: output folder holds predict's input"


def _out_is_the_photo_folder_of_one_photo(photos, run, prepared):
    return [photos / "a.png", photos], r"output folder holds predict's input"


def _out_is_the_model_run_folder(photos, run, prepared):
    return [photos, run], r"output folder holds predict's input"


def _out_is_the_prepared_images_folder(photos, run, prepared):
    return [prepared, prepared / "images", "--split", "train"], r"holds predict's input"


def _out_is_the_prepared_folder(photos, run, prepared):
    return [prepared, prepared, "--split", "train"], r"holds predict's input"


def _out_is_prepared_ground_truth(photos, run, prepared):
    return (
        [prepared, prepared / "labels", "--split", "train"],
        r"labels/.+\.png: exists and was not written by facecolab predict; pass --overwrite",
    )


def _out_holds_a_foreign_label_map(photos, run, prepared):
    out = photos.parent / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"mine")
    return [photos, out], r"out/a\.png: exists and was not written by facecolab predict"


def _out_holds_a_foreign_overlay(photos, run, prepared):
    out = photos.parent / "out"
    (out / "overlays").mkdir(parents=True)
    (out / "overlays" / "b.jpg").write_bytes(b"mine")
    return [photos, out, "--overlay"], r"overlays/b\.jpg: exists and was not written by"


PREDICT_CASES = [
    _out_is_the_input_folder,
    _out_is_a_link_to_the_input_folder,
    _out_is_the_photo_folder_of_one_photo,
    _out_is_the_model_run_folder,
    _out_is_the_prepared_images_folder,
    _out_is_the_prepared_folder,
    _out_is_prepared_ground_truth,
    _out_holds_a_foreign_label_map,
    _out_holds_a_foreign_overlay,
]


@pytest.mark.parametrize("hostile", PREDICT_CASES, ids=lambda f: f.__name__)
def test_predict_never_writes_over_inputs(
    capsys, tmp_path, photos, lfw_run, prepared_copy, hostile
):
    run = Path(shutil.copytree(lfw_run, tmp_path / "run"))
    (source, out, *extra), message = hostile(photos, run, prepared_copy())
    before = snapshot(tmp_path)
    code, stdout, err = predict(capsys, run, source, out, *extra)
    assert code == 2 and stdout == ""
    one_line_error(err, message, prefix="facecolab predict: error: ")
    assert snapshot(tmp_path) == before
    assert temporaries(tmp_path) == []


def test_predict_reruns_into_its_own_folder_and_overwrite_replaces(
    capsys, tmp_path, photos, lfw_run
):
    out = tmp_path / "out"
    assert predict(capsys, lfw_run, photos, out)[0] == 0
    first = outputs(out)
    assert predict(capsys, lfw_run, photos, out)[0] == 0  # its own files: replaced
    assert outputs(out) == first
    (out / "a.png").write_bytes(b"edited by hand")
    code, _, err = predict(capsys, lfw_run, photos, out)
    assert code == 2 and "a.png: exists and was not written by facecolab predict" in err
    assert (out / "a.png").read_bytes() == b"edited by hand"
    assert predict(capsys, lfw_run, photos, out, "--overwrite")[0] == 0
    assert outputs(out) == first
    assert temporaries(tmp_path) == []


def test_uncertainty_out_is_the_input_folder(capsys, tmp_path, photos, lfw_run):
    before = snapshot(tmp_path)
    code, stdout, err = facecolab(
        capsys, "uncertainty", "--model", lfw_run, "--input", photos, "--out", photos
    )
    assert code == 2 and stdout == ""
    one_line_error(err, r"photos: output folder holds uncertainty's input")
    assert snapshot(tmp_path) == before


def test_uncertainty_never_replaces_predict_label_maps(capsys, tmp_path, photos, lfw_run):
    out = tmp_path / "out"
    assert predict(capsys, lfw_run, photos, out)[0] == 0
    before = snapshot(tmp_path)
    code, _, err = facecolab(
        capsys, "uncertainty", "--model", lfw_run, "--input", photos, "--out", out
    )
    assert code == 2
    one_line_error(err, r"a\.png: exists and was not written by facecolab uncertainty")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["run", "prepared", "prepared/labels"])
def test_evaluate_never_writes_into_its_inputs(capsys, tmp_path, lfw_run, prepared_copy, target):
    run = Path(shutil.copytree(lfw_run, tmp_path / "run"))
    (run / "metrics.json").write_text('{"mean_iou": 0.9}')
    prepared = prepared_copy()
    before = snapshot(tmp_path)
    code, stdout, err = facecolab(
        capsys,
        "evaluate",
        "--model",
        run,
        "--data",
        prepared,
        "--split",
        "train",
        "--out",
        tmp_path / target,
    )
    assert code == 2 and stdout == ""
    one_line_error(err, r"output folder holds evaluate's input")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("onto", ["gt", "pred"])
def test_score_json_never_replaces_a_label_map(capsys, tmp_path, lfw_prepared, onto):
    gt = Path(shutil.copytree(lfw_prepared / "labels", tmp_path / "gt"))
    pred = Path(shutil.copytree(lfw_prepared / "labels", tmp_path / "pred"))
    target = sorted((gt if onto == "gt" else pred).glob("*.png"))[0]
    before = snapshot(tmp_path)
    code, stdout, err = f1_score(capsys, "--pred", pred, "--gt", gt, "--json", target)
    assert code == 2 and stdout == ""
    one_line_error(err, r"\.png: output file is an input of score", prefix="f1_score.py: error:")
    assert snapshot(tmp_path) == before


def test_score_json_keeps_a_foreign_file_without_overwrite(capsys, tmp_path, lfw_prepared):
    gt = Path(shutil.copytree(lfw_prepared / "labels", tmp_path / "gt"))
    report = tmp_path / "report.json"
    report.write_text("my notes")
    code, _, err = f1_score(capsys, "--pred", gt, "--gt", gt, "--json", report)
    assert code == 2 and "report.json: exists and was not written by facecolab score" in err
    assert report.read_text() == "my notes"
    assert f1_score(capsys, "--pred", gt, "--gt", gt, "--json", report, "--overwrite")[0] == 0
    assert isinstance(json.loads(report.read_text()), dict)
    assert f1_score(capsys, "--pred", gt, "--gt", gt, "--json", report)[0] == 0  # its own
    assert temporaries(tmp_path) == []


def _app_out_is_the_photo(photo):
    return ["-o", photo], r"photo\.png: output file is an input of face_parsing"


def _app_out_links_to_the_photo(photo):
    link = photo.parent / "link.png"
    link.symlink_to(photo)
    return ["-o", link], r"link\.png: output file is an input of face_parsing"


def _app_out_is_a_foreign_file(photo):
    (photo.parent / "theirs.png").write_bytes(b"someone's picture")
    return ["-o", photo.parent / "theirs.png"], r"theirs\.png: exists and was not written"


def _app_out_has_an_unknown_extension(photo):
    return ["-o", photo.parent / "out.xyz"], r"out\.xyz: unknown image file extension '\.xyz'; use"


APP_OUTPUT_CASES = [
    _app_out_is_the_photo,
    _app_out_links_to_the_photo,
    _app_out_is_a_foreign_file,
    _app_out_has_an_unknown_extension,
]


@pytest.mark.parametrize("hostile", APP_OUTPUT_CASES, ids=lambda f: f.__name__)
def test_app_output_never_replaces_an_input(capsys, tmp_path, photos, lfw_run, hostile):
    from facecolab.apps.face_parsing import main

    photo = tmp_path / "photo.png"
    shutil.copy(photos / "a.png", photo)
    argv, message = hostile(photo)
    before = snapshot(tmp_path)
    code, stdout, err = call(
        capsys,
        main,
        ["-i", photo, "-m", lfw_run, "--no-face-crop", "--dataset", "lfw_parts", *argv],
    )
    assert code == 2 and stdout == ""
    one_line_error(err, message, prefix="face_parsing: error: ")
    assert snapshot(tmp_path) == before
    assert temporaries(tmp_path) == []


def test_portrait_mask_never_replaces_the_photo(capsys, tmp_path, photos, lfw_run):
    """``-o x.png`` also writes ``x_mask.png``: the photo ``x_mask.png`` is refused."""
    from facecolab.apps.portrait import main

    photo = tmp_path / "x_mask.png"
    shutil.copy(photos / "a.png", photo)
    before = snapshot(tmp_path)
    code, _, err = call(capsys, main, ["-i", photo, "-m", lfw_run, "-o", tmp_path / "x.png"])
    assert code == 2
    one_line_error(err, r"x_mask\.png: output file is an input of portrait", "portrait: error:")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["source", "foreign_frames"])
def test_webcam_out_never_replaces_frames(capsys, tmp_path, photos, lfw_run, target):
    from facecolab.apps.webcam import main

    out = photos
    if target == "foreign_frames":
        out = tmp_path / "shown"
        out.mkdir()
        (out / "frame_000000.png").write_bytes(b"someone's frame")
    before = snapshot(tmp_path)
    argv = ["-m", lfw_run, "--source", photos, "--out", out, "--no-window", "--mode", "mask"]
    code, stdout, err = call(capsys, main, argv)
    assert code == 2 and stdout == ""
    pattern = r"holds webcam's input" if target == "source" else r"frame_000000\.png: exists"
    one_line_error(err, pattern, prefix="webcam: error: ")
    assert snapshot(tmp_path) == before


def test_export_never_writes_over_its_model(capsys, tmp_path, lfw_run):
    run = Path(shutil.copytree(lfw_run, tmp_path / "run"))
    before = snapshot(tmp_path)
    model = run / "model_best.keras"
    code, _, err = facecolab(capsys, "export", "--model", model, "--out", model)
    assert code == 2
    one_line_error(err, r"model_best\.keras: output file is an input of export")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--compare", "{missing}"], r"nowhere: no such image or folder"),
        (["--compare", "{empty}"], r"empty: folder holds no images"),
        (["--calib", "{photos}", "--calib-count", "0"], r"--calib-count: must be at least 1"),
        (["--calib", "{photos}", "--calib-count", "10000000"], r"--calib-count: must be at most"),
    ],
)
def test_export_checks_every_argument_before_writing(
    capsys, tmp_path, photos, lfw_run, extra, message
):
    (tmp_path / "empty").mkdir()
    values = {"missing": tmp_path / "nowhere", "empty": tmp_path / "empty", "photos": photos}
    out = tmp_path / "exports" / "m.tflite"
    argv = [a.format(**values) for a in extra]
    before = snapshot(tmp_path)
    code, _, err = facecolab(capsys, "export", "--model", lfw_run, "--out", out, *argv)
    assert code == 2
    assert "Traceback" not in err and message.split(":")[0].strip("\\") in err
    assert __import__("re").search(message, err), err
    assert snapshot(tmp_path) == before and not out.exists()


class _SaveInterrupted:
    """A model whose ``save`` is killed half-way (Ctrl-C while checkpointing)."""

    def save(self, path):
        Path(path).write_bytes(b"half a model")
        raise KeyboardInterrupt

    save_weights = save


@pytest.mark.parametrize("name", ["model_best.keras", "last.weights.h5"])
def test_interrupted_checkpoint_leaves_no_temporary(tmp_path, name):
    from facecolab.modelfiles.save import save_model_atomic, save_weights_atomic

    (tmp_path / name).write_bytes(b"the previous good checkpoint")
    save = save_weights_atomic if name.endswith(".weights.h5") else save_model_atomic
    with pytest.raises(KeyboardInterrupt):
        save(_SaveInterrupted(), tmp_path / name)
    assert files(tmp_path) == [name]
    assert (tmp_path / name).read_bytes() == b"the previous good checkpoint"


def test_temporaries_a_killed_run_left_are_removed_by_the_next(capsys, tmp_path, photos, lfw_run):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.png.abcd1234.tmp").write_bytes(b"killed half-way")
    (out / ".model.keras.abcd1234.tmp.keras").write_bytes(b"killed half-way")
    assert predict(capsys, lfw_run, photos, out)[0] == 0
    assert temporaries(tmp_path) == []
    assert snapshot(photos) == snapshot(photos)


SIGTERM_WRITER = """
import sys, time
from facecolab.fsutil import atomic_path, output_folder
with output_folder(sys.argv[1], command="test"):
    with atomic_path(sys.argv[1] + "/x.png") as tmp:
        tmp.write_bytes(b"half")
        print("ready", flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_removes_the_temporary_file_and_the_lock(tmp_path, signum):
    out = tmp_path / "out"
    child = start_python(SIGTERM_WRITER, out)
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signum)
    child.wait(timeout=30)
    assert child.returncode != 0
    assert files(tmp_path) == []


def test_a_stale_lock_of_a_dead_process_does_not_block(capsys, tmp_path, photos, lfw_run):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".facecolab.lock").write_text("999999")  # a killed run's lock file, unlocked
    assert predict(capsys, lfw_run, photos, out)[0] == 0
    assert temporaries(tmp_path) == []


def test_prepare_removes_only_what_it_wrote(capsys, tmp_path, lfw_raw):
    out = tmp_path / "out"
    assert (
        prepare_cli(
            capsys, "--root", lfw_raw, "--out", out, "--dataset", "lfw_parts", "--size", "32"
        )[0]
        == 0
    )
    (out / "splits" / "my_subset.txt").write_text("mine\n")
    (out / "images" / "notes.jpg").write_bytes(b"mine")
    assert (
        prepare_cli(
            capsys, "--root", lfw_raw, "--out", out, "--dataset", "lfw_parts", "--size", "32"
        )[0]
        == 0
    )
    assert (out / "splits" / "my_subset.txt").read_text() == "mine\n"
    assert (out / "images" / "notes.jpg").read_bytes() == b"mine"


# ---- B. paths from data files ----------------------------------------------------------------


ESCAPES = ["../../../secret", "/etc/passwd", "../labels/x", ".hidden"]


@pytest.mark.parametrize("key", ESCAPES)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_split_list_keys_are_never_paths(capsys, tmp_path, lfw_run, prepared_copy, key, command):
    prepared = prepared_copy()
    listing = prepared / "splits" / "train.txt"
    lines = listing.read_text().splitlines()
    listing.write_text("\n".join([lines[0], key, *lines[1:]]) + "\n")
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    before = snapshot(tmp_path)
    if command == "predict":
        code, _, err = predict(capsys, lfw_run, prepared, tmp_path / "out", "--split", "train")
    else:
        code, _, err = facecolab(
            capsys, "evaluate", "--model", lfw_run, "--data", prepared, "--split", "train",
            "--out", tmp_path / "out",
        )  # fmt: skip
    assert code == 2
    one_line_error(err, r"splits/train\.txt:2: key .+ is not a file name")
    assert snapshot(tmp_path) == before


def test_train_refuses_an_escaping_split_key(capsys, tmp_path, prepared_copy, lfw_prepared):
    from hostile_kit import tiny_config

    prepared = prepared_copy()
    (prepared / "splits" / "val.txt").write_text("../../../etc/passwd\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(prepared)))
    before = snapshot(prepared)
    code, _, err = facecolab(capsys, "train", "--config", config, "--run-dir", tmp_path / "run")
    assert code == 2
    one_line_error(err, r"splits/val\.txt:1: key '\.\./\.\./\.\./etc/passwd' is not a file name")
    assert snapshot(prepared) == before


@pytest.mark.parametrize("entry", ["../../outside 1", "/abs/olute 1"])
def test_lfw_list_names_stay_in_the_root(tmp_path, lfw_raw, entry):
    from facecolab.data.readers import get_format

    root = Path(shutil.copytree(lfw_raw, tmp_path / "raw"))
    listing = next(p for p in root.glob("*.txt") if p.read_text().strip())
    listing.write_text(listing.read_text() + entry + "\n")
    split = {"parts_train.txt": "train", "parts_validation.txt": "val"}.get(listing.name, "test")
    with pytest.raises(ValueError, match=rf"{listing.name}:\d+: name .+ (points outside|must be)"):
        get_format("lfw_parts").list_items(root, split)


@pytest.mark.parametrize("field", [0, 1])
@pytest.mark.parametrize("path", ["../../secret.jpg", "/etc/passwd"])
def test_celeba_list_paths_stay_in_the_root(tmp_path, field, path):
    from facecolab.data.readers.celeba_face import list_items

    fields = ["img/1.jpg", "mask/1.png"]
    fields[field] = path
    (tmp_path / "train.txt").write_text(" ".join(fields) + "\n")
    with pytest.raises(ValueError, match=r"train\.txt:1: (image|label) path .+"):
        list_items(tmp_path, "train", train_file="train.txt")


@pytest.mark.parametrize("entry", ["../../secret", "/etc/passwd", "img/../../../x"])
def test_helen_list_ids_stay_in_the_root(tmp_path, entry):
    """Helen's list layout (``train.txt`` of ids beside the pairs): an id that is a path is
    refused with the list file and line named."""
    from facecolab.data.readers.helen import list_items

    (tmp_path / "label_names.txt").write_text("bg face lb rb le re nose ulip imouth llip hair\n")
    (tmp_path / "train.txt").write_text(f"1 100040721_1\n2 {entry}\n")
    with pytest.raises(ValueError, match=r"train\.txt line 2: id .+"):
        list_items(tmp_path, "train")


# ---- C. resources --------------------------------------------------------------------------


def test_a_pixel_bomb_is_refused_before_decoding(capsys, tmp_path, lfw_run):
    bombs = tmp_path / "bombs"
    bombs.mkdir()
    (bombs / "bomb.png").write_bytes(png_header(12000, 12000))
    before = snapshot(tmp_path)
    code, _, err = predict(capsys, lfw_run, bombs, tmp_path / "out")
    assert code == 2
    one_line_error(err, r"bomb\.png: image of 12000 x 12000 = 144000000 pixels is larger than")
    assert snapshot(tmp_path) == before and temporaries(tmp_path) == []


@pytest.mark.parametrize("app", ["face_parsing", "portrait", "recolour"])
def test_apps_refuse_a_pixel_bomb(capsys, tmp_path, lfw_run, app):
    import importlib

    main = importlib.import_module(f"facecolab.apps.{app}").main
    (tmp_path / "bomb.png").write_bytes(png_header(20000 if app == "portrait" else 12000, 12000))
    extra = ["--part", "hair", "--colour", "#aa0033"] if app == "recolour" else []
    before = snapshot(tmp_path)
    argv = ["-i", tmp_path / "bomb.png", "-m", lfw_run, "-o", tmp_path / "o.png", *extra]
    code, _, err = call(capsys, main, argv)
    assert code == 2
    one_line_error(err, r"bomb\.png: image of .+ pixels is larger than the limit", f"{app}: error:")
    assert snapshot(tmp_path) == before


def test_max_pixels_lowers_the_limit(capsys, tmp_path, photos, lfw_run):
    code, _, err = predict(capsys, lfw_run, photos, tmp_path / "out", "--max-pixels", "100")
    assert code == 2
    one_line_error(err, r"a\.png: image of 32 x 40 = 1280 pixels is larger than the limit of 100")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--model", "m", "--input", "i", "--out", "o", "--threads", "100000"],
        ["predict", "--model", "m", "--input", "i", "--out", "o", "--batch-size", "1000000000"],
        ["evaluate", "--model", "m", "--data", "d", "--threads", "0"],
        ["evaluate", "--model", "m", "--data", "d", "--mc-samples", "100000000"],
        ["uncertainty", "--model", "m", "--input", "i", "--out", "o", "--samples", "99999999"],
        ["export", "--model", "m", "--threads", "100000"],
        ["predict", "--model", "m", "--input", "i", "--out", "o", "--max-pixels", "0"],
        ["webcam", "-m", "m", "--threads", "100000"],
        ["webcam", "-m", "m", "--max-frames", "0"],
        ["demo", "--epochs", "100000000"],
    ],
    ids=lambda argv: f"{argv[0]} {' '.join(argv[-2:])}",
)
def test_absurd_sizes_are_usage_errors(capsys, tmp_path, argv):
    os.chdir(tmp_path)
    code, stdout, err = facecolab(capsys, *argv)
    option = argv[-2]
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert f"error: argument {option}: must be at " in err, err
    assert files(tmp_path) == []


@pytest.mark.parametrize("workers", ["100000", "0", "-1"])
def test_prepare_workers_are_capped(capsys, tmp_path, lfw_raw, workers):
    from facecolab.cli.prepare import main

    code, _, err = call(
        capsys,
        main,
        [
            "--root",
            lfw_raw,
            "--out",
            tmp_path / "out",
            "--dataset",
            "lfw_parts",
            f"--workers={workers}",
        ],
    )
    assert code == 2 and "argument --workers: must be at" in err
    assert files(tmp_path) == []


@pytest.mark.parametrize(
    ("app", "option", "value"),
    [
        ("recolour", "--feather", "1e9"),
        ("recolour", "--feather", "nan"),
        ("recolour", "--strength", "inf"),
        ("recolour", "--hue-shift", "nan"),
        ("recolour", "--sharpen", "-1"),
        ("portrait", "--threshold", "nan"),
        ("portrait", "--threshold", "1.5"),
        ("portrait", "--threshold", "-inf"),
        ("webcam", "--smooth", "1.5"),
        ("webcam", "--smooth", "nan"),
    ],
)
def test_numeric_app_options_are_bounded(capsys, tmp_path, app, option, value):
    import importlib

    main = importlib.import_module(f"facecolab.apps.{app}").main
    extra = {"recolour": ["-i", "x.png", "--part", "hair"], "portrait": ["-i", "x.png"]}
    argv = ["-m", "m", *extra.get(app, []), f"{option}={value}"]
    if app == "recolour" and option != "--hue-shift":
        argv += ["--colour", "#aa0033"]
    start = time.monotonic()
    code, stdout, err = call(capsys, main, argv)
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert f"argument {option}" in err and ("must be in" in err or "must be" in err), err
    assert time.monotonic() - start < 5


def test_soft_mask_of_any_feather_ends_at_once():
    from facecolab.apps.recolour import soft_mask

    label = np.zeros((64, 64), np.uint8)
    label[20:40, 20:40] = 1
    start = time.monotonic()
    weight = soft_mask(label, [1], 1000)
    assert time.monotonic() - start < 2 and weight.max() <= 1
    with pytest.raises(ValueError, match="feather must be 0 to 1000"):
        soft_mask(label, [1], float("nan"))


# ---- D. bad items inside a prepared set ------------------------------------------------------


def _label_of_the_wrong_size(prepared):
    label = sorted((prepared / "labels").glob("*.png"))[0]
    Image.fromarray(np.zeros((SIZE + 3, SIZE), np.uint8)).save(label)
    return label, r"35x32 where the prepared size is 32x32"


def _zero_byte_image(prepared):
    image = sorted((prepared / "images").glob("*.jpg"))[0]
    image.write_bytes(b"")
    return image, r"empty file \(0 bytes\)"


def _garbage_label(prepared):
    label = sorted((prepared / "labels").glob("*.png"))[1]
    label.write_bytes(b"not a png at all")
    return label, r"cannot read"


def _missing_image(prepared):
    image = sorted((prepared / "images").glob("*.jpg"))[1]
    image.unlink()
    return image, r"missing"


BAD_ITEMS = [_label_of_the_wrong_size, _zero_byte_image, _garbage_label, _missing_image]


@pytest.mark.parametrize("break_item", BAD_ITEMS, ids=lambda f: f.__name__)
def test_a_bad_prepared_item_is_named(tmp_path, prepared_copy, break_item):
    from facecolab.data.prepare import checked_split_files, read_split_list

    prepared = prepared_copy()
    path, reason = break_item(prepared)
    split = next(
        s
        for s in ("train", "val", "test")
        if (prepared / "splits" / f"{s}.txt").exists()
        and path.stem in read_split_list(prepared / "splits" / f"{s}.txt")
    )
    with pytest.raises(ValueError, match=rf"{path.name}: {reason}.*--skip-bad"):
        checked_split_files(prepared, split)


@pytest.mark.parametrize("break_item", BAD_ITEMS, ids=lambda f: f.__name__)
def test_skip_bad_leaves_out_and_counts(capsys, prepared_copy, break_item):
    from facecolab.data.prepare import checked_split_files, split_files

    prepared = prepared_copy()
    path, _ = break_item(prepared)
    for split in ("train", "val", "test"):
        if not (prepared / "splits" / f"{split}.txt").exists():
            continue
        images, _ = split_files(prepared, split)
        if path.stem not in {p.stem for p in images}:
            continue
        try:
            kept, _ = checked_split_files(prepared, split, skip_bad=True)
        except ValueError as error:  # a one-item split: every item bad, said so
            assert "every item of split" in str(error)
            return
        assert len(kept) == len(images) - 1 and path.stem not in {p.stem for p in kept}
        assert f"skipped 1 bad items of split '{split}'" in capsys.readouterr().err
        return
    pytest.fail("the broken item is in no split")


def test_train_on_a_bad_item_names_the_file(capsys, tmp_path, prepared_copy):
    from hostile_kit import tiny_config

    prepared = prepared_copy()
    path, _ = _zero_byte_image(prepared)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(prepared)))
    code, _, err = facecolab(capsys, "train", "--config", config, "--run-dir", tmp_path / "run")
    assert code == 2
    one_line_error(err, rf"{path.name}: empty file \(0 bytes\); .+--skip-bad")
    assert "config.json" not in files(tmp_path / "run")  # a refused run leaves no record


# ---- E. silent wrong results -------------------------------------------------------------------


def test_a_cache_file_is_never_shared_by_two_splits(tmp_path, lfw_prepared):
    from facecolab.data.tf_pipeline import cache_file

    cache = str(tmp_path / "cache")
    train = cache_file(cache, lfw_prepared, "train", [32, 32])
    val = cache_file(cache, lfw_prepared, "val", [32, 32])
    other = cache_file(cache, tmp_path, "train", [32, 32])
    assert len({train, val, other}) == 3 and all(p.startswith(cache) for p in (train, val))
    assert cache_file(True, lfw_prepared, "train") is True


def test_nan_weights_are_refused_on_load(tmp_path):
    from facecolab.modelfiles.portable import load_portable, save_portable
    from facecolab.models import build_model

    model = build_model("unet", (SIZE, SIZE, 3), 3, depth=2, base_filters=4)
    path = tmp_path / "m.weights.npz"
    kwargs = {"input_shape": [SIZE, SIZE, 3], "num_classes": 3, "depth": 2, "base_filters": 4}
    save_portable(model, path, "unet", kwargs)
    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    members["w0000"] = np.full_like(members["w0000"], np.nan)
    np.savez(path, **members)
    with pytest.raises(ValueError, match=r"m\.weights\.npz: weight .+ holds NaN or infinite"):
        load_portable(path)


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_applied(tmp_path, orientation):
    from facecolab.data.imageio import read_image

    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :10] = 255  # a white band on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(array).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = read_image(tmp_path / "phone.jpg")
    assert image.shape == (40, 20, 3)  # shown upright, as the phone did
    band = image[:10] if orientation == 6 else image[-10:]
    assert band.mean() > 200


def test_webcam_that_would_do_nothing_is_an_error(capsys, tmp_path, photos):
    from facecolab.apps.webcam import main

    code, stdout, err = call(capsys, main, ["-m", "m", "--source", photos, "--no-window"])
    assert code == 2 and stdout == ""
    one_line_error(err, r"--no-window without --out would show and write nothing", "webcam:")


# ---- F. messages that name the file ------------------------------------------------------------


@pytest.mark.parametrize("content", ["{not json", "\xff\xfe", ""])
def test_resume_with_a_bad_config_names_it(capsys, tmp_path, content):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes(content.encode("latin-1"))
    before = snapshot(tmp_path)
    code, _, err = facecolab(capsys, "train", "--resume", run)
    assert code == 2
    one_line_error(err, r"run/config\.json: not valid JSON, so not a usable run config")
    assert snapshot(tmp_path) == before


FULL_DISK = """
import sys
from facecolab.cli.main import main
sys.exit(main(["predict", "--model", sys.argv[1], "--input", sys.argv[2], "--out", sys.argv[3],
               "--no-progress", "--no-face-crop"]))
"""


def test_a_full_disk_during_prediction_is_one_line(tmp_path, photos, lfw_run):
    out = tmp_path / "out"
    result = run_python(FULL_DISK, lfw_run, photos, out, fsize=64)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert lines and "a.png: cannot write (" in lines[-1] and "Traceback" not in result.stderr
    assert temporaries(tmp_path) == [] and not (out / "a.png").exists()


def test_record_lists_what_each_command_wrote(capsys, tmp_path, photos, lfw_run):
    out = tmp_path / "out"
    assert predict(capsys, lfw_run, photos, out)[0] == 0
    record = (out / RECORD_NAME).read_text().split()
    assert "predict" in record and "a.png" in record and "b.png" in record
    assert sys.platform != "win32"
