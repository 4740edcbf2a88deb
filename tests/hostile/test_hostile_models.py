"""Hostile models: manifests whose paths escape ``weights/``, damaged model files, models
whose classes do not fit the data, outputs that cannot be written. Each fails with one line
naming the file or option, exit 2, before any work, and writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

import pytest
from hostile_kit import SIZE, TINY_UNET, facecolab, files, one_line_error, snapshot

from facecolab.data.readers.base import Item
from facecolab.fsutil import output_folder
from facecolab.modelfiles.load import open_model
from facecolab.modelfiles.manifest import pretrained_path, read_manifest

# ---- manifest containment -----------------------------------------------------------------


@pytest.fixture
def weights(tmp_path):
    """``(weights folder, outside file)``: a file outside the folder with a known hash, the
    bait a manifest entry may point at."""
    folder = tmp_path / "deep" / "weights"
    folder.mkdir(parents=True)
    outside = tmp_path / "elsewhere" / "m.keras"
    outside.parent.mkdir()
    outside.write_bytes(b"outside bytes")
    return folder, outside


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# (entry "file" → message); the entry's sha256 is the bait's, so only containment stops it.
ESCAPES = [
    ("../../elsewhere/m.keras", r"'\.\./\.\./elsewhere/m\.keras' points outside"),
    ("sub/../../../elsewhere/m.keras", r"points outside"),
    ("../../../../../../../../etc/passwd", r"points outside"),
    ("{outside}", r"must be a relative path inside"),
    ("/etc/passwd", r"'/etc/passwd' must be a relative path inside"),
    ("", r"'' must be a relative path inside"),
    ("link.keras", r"'link\.keras' points outside"),  # a symbolic link out of weights/
]


@pytest.mark.parametrize(("file", "message"), ESCAPES, ids=[f or "empty" for f, _ in ESCAPES])
@pytest.mark.parametrize("source", ["train with configs/x.json", "http://127.0.0.1:9/m.keras"])
def test_manifest_paths_cannot_leave_weights(weights, file, message, source):
    folder, outside = weights
    (folder / "link.keras").symlink_to(outside)
    entry = {"file": file.format(outside=outside), "sha256": _sha(outside), "source": source}
    (folder / "manifest.json").write_text(json.dumps({"bait": entry}))
    before = snapshot(folder.parent.parent)
    for attempt in (
        lambda: read_manifest(folder),
        lambda: pretrained_path("bait", folder),
        lambda: open_model("bait", weights_dir=folder),
    ):
        with pytest.raises(ValueError, match=rf"manifest\.json: entry 'bait' file .*{message}"):
            attempt()
    assert snapshot(folder.parent.parent) == before  # nothing downloaded or written anywhere


BAD_ENTRIES = [
    ({"bait": "weights.keras"}, r"entry 'bait' must be an object"),
    ({"bait": {"file": 3, "sha256": "0", "source": "x"}}, r"entry 'bait': file and source must"),
    ({"bait": {"file": "m.keras", "sha256": 5, "source": "x"}}, r"entry 'bait': .*sha256 text"),
    ({"bait": {"file": "m", "sha256": "0", "source": None}}, r"entry 'bait': file and source"),
    ([1, 2], r"must hold a JSON object mapping names to entries"),
]


@pytest.mark.parametrize(("manifest", "message"), BAD_ENTRIES, ids=range(len(BAD_ENTRIES)))
def test_malformed_manifest_entries(weights, manifest, message):
    folder, _ = weights
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=rf"manifest\.json: {message}"):
        read_manifest(folder)


def test_manifest_model_opened_by_path_is_checksum_checked(weights, lfw_run):
    folder, _ = weights
    model = folder / "m.keras"
    model.write_bytes((lfw_run / "model_best.keras").read_bytes())
    entry = {"file": "m.keras", "sha256": "ab" * 32, "source": "train with x", "dataset": "x"}
    (folder / "manifest.json").write_text(json.dumps({"m": entry}))
    with pytest.raises(ValueError, match=rf"{model}: sha256 {_sha(model)} does not match"):
        open_model(model, weights_dir=folder)


# ---- damaged model files, by path on the command line -------------------------------------


def _truncated_zip(path, lfw_run):
    path.write_bytes((lfw_run / "model_best.keras").read_bytes()[:500])
    return r"damaged or not a \.keras file \(not a zip archive\)"


def _text_as_keras(path, lfw_run):
    path.write_text("not a model")
    return r"damaged or not a \.keras file \(not a zip archive\)"


def _zip_with_garbage_config(path, lfw_run):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{broken")
        archive.writestr("metadata.json", "{}")
    return r"cannot load this model file \("


def _zip_without_weights(path, lfw_run):
    with zipfile.ZipFile(lfw_run / "model_best.keras") as source:
        config = source.read("config.json")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config)
        archive.writestr("metadata.json", "{}")
    return r"cannot load this model file \("


DAMAGED = [_truncated_zip, _text_as_keras, _zip_with_garbage_config, _zip_without_weights]


@pytest.mark.parametrize("damage", DAMAGED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_damaged_model_file_is_one_line(capsys, lfw_run, lfw_prepared, tmp_path, damage, command):
    model = tmp_path / "m.keras"
    message = damage(model, lfw_run)
    out = tmp_path / "out"
    argv = {
        "evaluate": ["--data", lfw_prepared, "--split", "train", "--out", out],
        "predict": ["--input", lfw_prepared / "images", "--out", out],
        "export": ["--out", out / "x.keras"],
    }[command]
    code, _, err = facecolab(capsys, command, "--model", model, *argv)
    assert code == 2
    one_line_error(err, rf"{model}: {message}", prefix=f"facecolab {command}: error: ")
    assert files(out) == []


def test_damaged_weights_file_is_one_line(capsys, tmp_path):
    weights = tmp_path / "m.weights.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(200))
    sidecar = {"builder": "unet", "kwargs": {"input_shape": [SIZE, SIZE, 3], "num_classes": 3}}
    (tmp_path / "m.json").write_text(json.dumps(sidecar | {"format": "facecolab.model-config"}))
    code, _, err = facecolab(capsys, "export", "--model", weights, "--out", tmp_path / "x.keras")
    assert code == 2
    one_line_error(err, rf"{weights}: damaged weights file \(")
    assert not (tmp_path / "x.keras").exists()


# ---- the model's classes against the data --------------------------------------------------


@pytest.fixture(scope="module")
def face_hair_prepared(tmp_path_factory):
    """A 3-class prepared set whose names differ from LFW's: face8 merged to
    (background, face, hair)."""
    from facecolab.data.prepare import PrepareOptions, prepare
    from facecolab.data.readers.face8 import build_format
    from facecolab.data.sample import write_sample

    root = tmp_path_factory.mktemp("face3")
    write_sample("face8", root / "raw", count=4, size=40)
    fmt = build_format({1: 1, 6: 1, 10: 2}, ["background", "face", "hair"])
    options = PrepareOptions(size=(SIZE, SIZE))
    prepare(fmt, root / "raw", root / "prepared", options, workers=1, progress=False)
    return root / "prepared"


def test_evaluate_refuses_another_class_count(capsys, lfw_run, helen_prepared, tmp_path):
    """The LFW model on Helen used to print 'pixel accuracy 82.72' (hair scored as 'lb')."""
    out = tmp_path / "out"
    code, stdout, err = facecolab(
        capsys, "evaluate", "--model", lfw_run, "--data", helen_prepared, "--split", "train",
        "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    one_line_error(
        err, rf"model 'unet' predicts 3 classes but {helen_prepared} \(helen\) has 11 \(bg, face"
    )
    assert not out.exists()


def test_evaluate_refuses_other_class_names(capsys, lfw_run, face_hair_prepared, tmp_path):
    out = tmp_path / "out"
    code, _, err = facecolab(
        capsys, "evaluate", "--model", lfw_run, "--data", face_hair_prepared, "--split", "train",
        "--out", out,
    )  # fmt: skip
    assert code == 2
    one_line_error(
        err,
        r"trained on classes \(background, skin, hair\) but .* has \(background, face, hair\): "
        r"id 1 is 'skin' for the model, 'face' here",
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--data", "{raw}", "--raw", "--dataset", "helen", "--out", "{out}"],
        ["predict", "--input", "{raw}", "--dataset", "helen", "--out", "{out}"],
        ["uncertainty", "--input", "{raw}", "--dataset", "helen", "--out", "{out}"],
    ],
    ids=["evaluate", "predict", "uncertainty"],
)
def test_dataset_option_must_fit_the_model(capsys, lfw_run, lfw_raw, tmp_path, argv):
    out = tmp_path / "out"
    argv = [a.format(raw=lfw_raw, out=out) for a in argv]
    code, _, err = facecolab(capsys, argv[0], "--model", lfw_run, *argv[1:])
    assert code == 2
    one_line_error(err, r"model 'unet' predicts 3 classes but (dataset|--dataset) helen has 11")
    assert not out.exists()


def test_prediction_of_raw_items_checks_classes_before_reading(lfw_run, tmp_path):
    """What the notebooks predict and score (evaluate.predict_items) is refused at once."""
    from facecolab.data import get_format
    from facecolab.modelfiles.load import load_model_any
    from facecolab.workflows.evaluate import predict_items

    never_read = [Item("x", tmp_path / "absent.jpg", (tmp_path / "absent.png",))]
    with pytest.raises(ValueError, match=r"predicts 3 classes but dataset helen has 11"):
        predict_items(load_model_any(lfw_run), get_format("helen"), never_read)


# ---- outputs of evaluate / predict / uncertainty / export -----------------------------------


def _file_at(path):
    path.write_text("precious")
    return rf"{path}: output folder exists and is not a folder"


def _overlays_file(path):
    path.mkdir()
    (path / "overlays").write_text("precious")
    return rf"{path}/overlays: output folder exists and is not a folder"


OUTPUT_COMMANDS = [
    ("evaluate", ["--data", "{prepared}", "--split", "train", "--out", "{out}"], _file_at),
    ("predict", ["--input", "{images}", "--out", "{out}"], _file_at),
    ("predict", ["--input", "{images}", "--out", "{out}", "--overlay"], _overlays_file),
    ("uncertainty", ["--input", "{images}", "--out", "{out}", "--samples", "2"], _file_at),
]


@pytest.mark.parametrize(
    ("command", "argv", "break_output"),
    OUTPUT_COMMANDS,
    ids=["evaluate", "predict", "overlay", "mc"],
)
def test_unwritable_output_fails_before_work(
    capsys, lfw_run, lfw_prepared, tmp_path, command, argv, break_output
):
    model = lfw_run if command != "uncertainty" else _mc_model(tmp_path)
    out = tmp_path / "out"
    message = break_output(out)
    before = snapshot(tmp_path)
    values = {"prepared": lfw_prepared, "images": lfw_prepared / "images", "out": out}
    code, stdout, err = facecolab(
        capsys, command, "--model", model, *[a.format(**values) for a in argv], "--no-progress"
    )
    assert code == 2 and stdout == ""
    one_line_error(err, message, prefix=f"facecolab {command}: error: ")
    assert snapshot(tmp_path) == before


def _mc_model(tmp_path):
    from facecolab.models import build_model

    path = tmp_path / "mc.keras"
    options = TINY_UNET["options"] | {"dropout": 0.5, "mc_dropout": True}
    build_model("unet", (SIZE, SIZE, 3), 3, **options).save(path)
    return path


def test_predict_into_a_busy_folder(capsys, lfw_run, lfw_prepared, tmp_path):
    out = tmp_path / "out"
    with output_folder(out):
        code, _, err = facecolab(
            capsys, "predict", "--model", lfw_run, "--input", lfw_prepared / "images",
            "--out", out, "--no-progress",
        )  # fmt: skip
    assert code == 2
    one_line_error(err, rf"{out}: in use by another facecolab process \(pid {os.getpid()}\)")
    assert not out.exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [("folder", r"x\.keras: output file is a folder"), ("below", r"file: output folder exists")],
)
def test_export_output_place(capsys, lfw_run, tmp_path, target, message):
    if target == "folder":
        out = tmp_path / "x.keras"
        out.mkdir()
    else:
        (tmp_path / "file").write_text("precious")
        out = tmp_path / "file" / "x.keras"
    before = snapshot(tmp_path)
    code, _, err = facecolab(capsys, "export", "--model", lfw_run, "--out", out)
    assert code == 2
    one_line_error(err, message, prefix="facecolab export: error: ")
    assert snapshot(tmp_path) == before


# ---- the apps: the same one-line contract --------------------------------------------------


def _app_out_is_a_folder(tmp_path):
    (tmp_path / "out.png").mkdir()
    return ["-o", tmp_path / "out.png"], r"out\.png: output file is a folder"


def _app_out_below_a_file(tmp_path):
    (tmp_path / "file").write_text("precious")
    return ["-o", tmp_path / "file" / "out.png"], r"file: output folder exists and is not a folder"


def _app_photo_is_float(tmp_path):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.ones((SIZE, SIZE), np.float32)).save(tmp_path / "photo.tif")
    return ["-i", tmp_path / "photo.tif", "-o", tmp_path / "o.png"], r"32-bit float image"


def _app_dataset_does_not_fit(tmp_path):
    return ["--dataset", "helen", "-o", tmp_path / "o.png"], r"has 11 classes but the model"


APP_CASES = [
    _app_out_is_a_folder,
    _app_out_below_a_file,
    _app_photo_is_float,
    _app_dataset_does_not_fit,
]


@pytest.mark.parametrize("hostile", APP_CASES, ids=lambda f: f.__name__)
def test_app_failures_are_one_line(capsys, lfw_run, lfw_prepared, tmp_path, hostile):
    from hostile_kit import call

    from facecolab.apps.face_parsing import main

    argv, message = hostile(tmp_path)
    if "-i" not in argv:
        argv = ["-i", sorted((lfw_prepared / "images").glob("*.jpg"))[0], *argv]
    before = snapshot(tmp_path)
    code, stdout, err = call(capsys, main, ["-m", lfw_run, *argv])
    assert code == 2 and stdout == ""
    one_line_error(err, message, prefix="face_parsing: error: ")
    assert snapshot(tmp_path) == before


def test_concurrent_manifest_update_loses_no_entry(weights):
    """``add_to_manifest`` reads, changes and writes the manifest: while another process
    holds the weights folder it refuses instead of overwriting that process's entry."""
    from facecolab.fsutil import OutputError
    from facecolab.modelfiles.manifest import add_to_manifest

    folder, _ = weights
    (folder / "a.keras").write_bytes(b"a")
    (folder / "b.keras").write_bytes(b"b")
    add_to_manifest("a", folder / "a.keras", folder, source="train with a")
    before = snapshot(folder)
    with output_folder(folder), pytest.raises(OutputError, match=r"weights: in use by another"):
        add_to_manifest("b", folder / "b.keras", folder, source="train with b")
    assert snapshot(folder) == before
    add_to_manifest("b", folder / "b.keras", folder, source="train with b")
    assert sorted(read_manifest(folder)) == ["a", "b"]
