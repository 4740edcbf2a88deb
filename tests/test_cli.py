"""End-to-end ``facecolab`` subcommands on tiny artifacts: a sample LFW-parts dataset (raw and
prepared), a 64×64 U-Net in a run folder, images of odd sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facecolab.cli.main import build_parser, main
from facecolab.data.prepare import PrepareOptions, prepare
from facecolab.data.sample import write_sample
from facecolab.modelfiles.load import load_model_any, save_weights_with_config
from facecolab.models import build_model, rebuilt_at

SUBCOMMANDS = [
    "prepare",
    "train",
    "evaluate",
    "predict",
    "score",
    "uncertainty",
    "export",
    "webcam",
    "demo",
]
MODEL_KWARGS = {"input_shape": [64, 64, 3], "num_classes": 3, "depth": 2, "base_filters": 4}
REFERENCE = {"source": "a seed", "metrics": {"pixel_accuracy": 0.917, "f1_skin": 0.908}}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Raw sample (80² images), prepared copy (64²), run folder, odd-sized images."""
    root = tmp_path_factory.mktemp("cli")
    write_sample("lfw_parts", root / "raw", count=6, size=80)
    prepare(
        "lfw_parts",
        root / "raw",
        root / "prepared",
        PrepareOptions(size=(64, 64)),
        workers=1,
        progress=False,
    )
    model = build_model("unet", **MODEL_KWARGS)
    run = root / "run"
    run.mkdir()
    model.save(run / "model_best.keras")
    config = {
        "name": "tiny",
        "data": {
            "dataset": "lfw_parts",
            "prepared": str(root / "prepared"),
            "image_size": [64, 64],
        },
        "model": {"name": "unet", "options": {"depth": 2, "base_filters": 4}},
        "reference": REFERENCE,
    }
    (run / "config.json").write_text(json.dumps(config))
    save_weights_with_config(model, root / "bare" / "tiny.weights.h5", "unet", MODEL_KWARGS)
    mc = build_model("unet", **MODEL_KWARGS, dropout=0.5, mc_dropout=True)
    mc.save(root / "mc.keras")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for name, (height, width) in {"odd": (77, 53), "wide": (53, 77)}.items():
        Image.fromarray(rng.integers(0, 255, (height, width, 3), np.uint8)).save(
            images / f"{name}.png"
        )
    return {"root": root, "run": run, "model": model, "images": images}


def run_cli(capsys, *argv, **options):
    """``facecolab *argv`` plus an option per keyword (``batch_size=2`` → ``--batch-size 2``;
    flags go in ``argv``); returns ``(exit code, stdout, stderr)``."""
    for name, value in options.items():
        argv += (f"--{name.replace('_', '-')}", value)
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: facecolab {command}" in capsys.readouterr().out


def test_prepare_delegates_to_prepare_cli(artifacts, capsys, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "prepare",
        "--no-progress",
        dataset="lfw_parts",
        root=artifacts["root"] / "raw",
        out=tmp_path / "p32",
        size=32,
        workers=1,
    )
    assert code == 0, out
    info = json.loads((tmp_path / "p32" / "dataset.json").read_text())
    assert info["size"] == [32, 32] and info["counts"]["train"] == 4


def label_pixels(folder, keys, ignore=255):
    return sum(int((np.asarray(Image.open(folder / f"{k}.png")) != ignore).sum()) for k in keys)


def test_evaluate_prepared_with_reference(artifacts, capsys, tmp_path):
    prepared = artifacts["root"] / "prepared"
    code, out, err = run_cli(
        capsys,
        "evaluate",
        model=artifacts["run"],
        data=prepared,
        split="train",
        out=tmp_path / "eval",
    )
    assert code == 0, err
    record = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    keys = (prepared / "splits" / "train.txt").read_text().split()
    cm = np.asarray(record["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == label_pixels(prepared / "labels", keys)
    assert record["reference"] == REFERENCE
    assert (tmp_path / "eval" / "confusion_matrix.png").stat().st_size > 0
    assert "| pixel_accuracy |" in out and "91.70" in out  # reference side by side
    assert "| 2 | hair |" in out  # the per-class table


def test_evaluate_raw_at_original_resolution(artifacts, capsys, tmp_path):
    """The model is 64², the raw images 80²: every original pixel is counted."""
    code, out, err = run_cli(
        capsys,
        "evaluate",
        "--no-progress",
        model=artifacts["run"],
        data=artifacts["root"] / "raw",
        dataset="lfw_parts",
        split="train",
        out=tmp_path / "eval",
    )
    assert code == 0, err
    record = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert record["pixels"] == 4 * 80 * 80
    assert record["mode"].startswith("raw lfw_parts")


def test_evaluate_raw_folder_needs_a_dataset_name(artifacts, capsys, tmp_path):
    code, _, err = run_cli(
        capsys,
        "evaluate",
        model=artifacts["root"] / "mc.keras",
        data=artifacts["root"] / "raw",
        out=tmp_path,
    )
    assert code == 2
    assert "not a prepared folder" in err and "--dataset" in err


@pytest.mark.parametrize("model_kind", ["run", "weights"])
def test_predict_writes_original_size_label_maps(artifacts, capsys, tmp_path, model_kind):
    model = (
        artifacts["run"] if model_kind == "run" else artifacts["root"] / "bare" / "tiny.weights.h5"
    )
    code, out, err = run_cli(
        capsys,
        "predict",
        "--overlay",
        "--no-progress",
        model=model,
        input=artifacts["images"],
        out=tmp_path / "pred",
    )
    assert code == 0, err
    for name, size in (("odd", (53, 77)), ("wide", (77, 53))):
        with Image.open(tmp_path / "pred" / f"{name}.png") as label:
            assert label.mode == "L" and label.size == size
            assert np.asarray(label).max() < 3
        with Image.open(tmp_path / "pred" / "overlays" / f"{name}.jpg") as overlay:
            assert overlay.size == size
    assert "wrote 2 label maps" in out


def test_predict_then_score_round_trip(artifacts, capsys, tmp_path):
    """Label maps predicted from prepared images, scored against the prepared labels."""
    prepared = artifacts["root"] / "prepared"
    code, _, err = run_cli(
        capsys,
        "predict",
        "--no-progress",
        model=artifacts["run"],
        input=prepared / "images",
        out=tmp_path / "pred",
    )
    assert code == 0, err
    code, out, err = run_cli(
        capsys,
        "score",
        pred=tmp_path / "pred",
        gt=prepared / "labels",
        json=tmp_path / "f1.json",
    )
    assert code == 0, err
    result = json.loads((tmp_path / "f1.json").read_text())
    assert result["files_scored"] == 6 and not result["missing"] and not result["extra"]
    assert "Scored 6 files" in out


def test_uncertainty_writes_maps(artifacts, capsys, tmp_path):
    code, out, err = run_cli(
        capsys,
        "uncertainty",
        "--no-progress",
        model=artifacts["root"] / "mc.keras",
        input=artifacts["images"] / "odd.png",
        samples=3,
        out=tmp_path / "mc",
    )
    assert code == 0, err
    arrays = np.load(tmp_path / "mc" / "odd.npz")
    assert arrays["entropy"].shape == (77, 53) and arrays["mean"].shape == (77, 53, 3)
    assert (tmp_path / "mc" / "odd.png").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["uncertainty", "--model", "{run}", "--input", "{images}", "--out", "{tmp}"],
            "no Monte-Carlo dropout",
        ),
        (
            ["predict", "--model", "{tmp}/absent.keras", "--input", "{images}", "--out", "{tmp}"],
            "absent.keras: no such model file",
        ),
        (
            ["predict", "--model", "{run}", "--input", "{tmp}/nothing", "--out", "{tmp}"],
            "nothing: no such image or folder",
        ),
        (
            [
                "evaluate",
                "--model",
                "{run}",
                "--data",
                "{prepared}",
                "--split",
                "nope",
                "--out",
                "{tmp}",
            ],
            "no split 'nope'",
        ),
        (
            ["export", "--model", "{run}", "--out", "{tmp}/w.weights.npz", "--input-size", "32"],
            "--input-size applies to exported models, not weights",
        ),
        (
            ["export", "--model", "{run}", "--out", "{tmp}/odd.keras", "--input-size", "30,64"],
            "U-Net of depth 2 needs H and W divisible by 4; got 30×64",
        ),
    ],
)
def test_friendly_one_line_errors(artifacts, capsys, tmp_path, argv, message):
    values = {
        "run": artifacts["run"],
        "images": artifacts["images"],
        "tmp": tmp_path,
        "prepared": artifacts["root"] / "prepared",
    }
    code, _, err = run_cli(capsys, *(a.format(**values) for a in argv))
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_export_writes_a_loadable_inference_model(artifacts, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "export", model=artifacts["run"], out=tmp_path / "ship.keras")
    assert code == 0 and "ship.keras" in out
    exported = load_model_any(tmp_path / "ship.keras")
    x = np.random.default_rng(1).random((1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(
        exported.predict(x, verbose=0), artifacts["model"].predict(x, verbose=0), atol=1e-6
    )


def test_export_at_another_input_size_computes_the_same_function(artifacts, capsys, tmp_path):
    """--input-size 32,64: the run's model rebuilt for landscape inputs, its weights kept."""
    out = tmp_path / "landscape.keras"
    code, _, err = run_cli(capsys, "export", model=artifacts["run"], out=out, input_size="32,64")
    assert code == 0, err
    exported = load_model_any(out)
    assert exported.input_shape == (None, 32, 64, 3)
    x = np.random.default_rng(2).random((1, 32, 64, 3)).astype("float32")
    at_input_size = rebuilt_at(artifacts["model"], (32, 64, 3))
    np.testing.assert_allclose(
        exported.predict(x, verbose=0), at_input_size.predict(x, verbose=0), atol=1e-6
    )


def test_predict_on_a_helen_folder_then_score_pairs_images_only(artifacts, capsys, tmp_path):
    """Helen's test folder holds <id>_image.jpg beside <id>_label.png: only the images are
    predicted, as <id>.png, and every prediction pairs with its ground truth."""
    raw = write_sample("helen", tmp_path / "helen", count=10, size=48)
    test = raw / "test"
    ids = sorted(p.name.removesuffix("_image.jpg") for p in test.glob("*_image.jpg"))
    code, out, err = run_cli(
        capsys, "predict", "--no-progress", model=artifacts["run"], input=test, out=tmp_path / "p"
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "p").glob("*.png")) == [f"{i}.png" for i in ids]
    assert f"a helen folder: predicting its {len(ids)} images" in out
    assert f"leaving out its {len(ids)} label maps" in out
    code, out, err = run_cli(
        capsys, "score", pred=tmp_path / "p", gt=test, json=tmp_path / "s.json"
    )
    assert code == 0, err
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["files_scored"] == len(ids) and not result["missing"] and not result["extra"]
    assert "WARNING" not in err
