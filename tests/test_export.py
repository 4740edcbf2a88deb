"""load_model_any: .keras, full-model .h5/.hdf5, .weights.h5 + config, run folders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facecolab.modelfiles.load import load_model_any, save_weights_with_config, sidecar_path
from facecolab.models import build_model

KWARGS = {"input_shape": [64, 64, 3], "num_classes": 3, "depth": 2, "base_filters": 4}


@pytest.fixture(scope="module")
def model():
    model = build_model("unet", **KWARGS)
    # Non-trivial batch-norm statistics, so a format that dropped them would show.
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)


def training_config(tmp_path):
    config = {
        "name": "tiny",
        "data": {"dataset": "lfw_parts", "prepared": "unused", "image_size": [64, 64]},
        "model": {"name": "unet", "options": {"depth": 2, "base_filters": 4}},
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    return path


def save(model, tmp_path, kind):
    """Write ``model`` in format ``kind``; returns ``(path, config argument)``."""
    if kind == "keras":
        model.save(tmp_path / "m.keras")
        return tmp_path / "m.keras", None
    if kind in ("h5", "hdf5"):
        model.save(tmp_path / f"m.{kind}")
        return tmp_path / f"m.{kind}", None
    if kind == "legacy-weights-h5":  # tf.keras 2 save_weights("m.h5") + a sidecar m.json
        import h5py
        from keras.src.legacy.saving import legacy_h5_format

        with h5py.File(tmp_path / "m.h5", "w") as handle:
            legacy_h5_format.save_weights_to_hdf5_group(handle, model)
        (tmp_path / "m.json").write_text(json.dumps({"builder": "unet", "kwargs": KWARGS}))
        return tmp_path / "m.h5", None
    path = tmp_path / "m.weights.h5"
    if kind == "weights+sidecar":
        save_weights_with_config(model, path, "unet", KWARGS)
        return path, None
    model.save_weights(path)
    if kind == "weights+training-config":
        return path, training_config(tmp_path)
    if kind == "weights+run-dir":  # RUN/checkpoint/<epoch>.weights.h5 beside RUN/config.json
        checkpoint = tmp_path / "checkpoint"
        checkpoint.mkdir()
        path = path.rename(checkpoint / path.name)
        training_config(tmp_path).rename(tmp_path / "config.json")
        return path, None
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "keras",
        "h5",
        "hdf5",
        "weights+sidecar",
        "weights+training-config",
        "weights+run-dir",
        "legacy-weights-h5",
    ],
)
def test_every_format_loads_with_identical_predictions(model, images, tmp_path, kind):
    path, config = save(model, tmp_path, kind)
    loaded = load_model_any(path, config=config)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


def test_sidecar_records_the_builder_call(model, tmp_path):
    path = save_weights_with_config(model, tmp_path / "m.weights.h5", "unet", KWARGS)
    sidecar = json.loads(sidecar_path(path).read_text())
    assert sidecar_path(path).name == "m.json"
    assert (sidecar["builder"], sidecar["kwargs"]) == ("unet", KWARGS)


def test_run_folder_prefers_best_model(model, images, tmp_path):
    model.save(tmp_path / "model_final.keras")
    other = build_model("unet", **KWARGS)  # different random weights
    other.save(tmp_path / "model_best.keras")
    loaded = load_model_any(tmp_path)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), other.predict(images, verbose=0), atol=1e-6
    )


@pytest.mark.parametrize(
    "name, content, error, message",
    [
        ("absent.keras", None, FileNotFoundError, "absent.keras: model file not found"),
        ("m.pt", b"torch", ValueError, r"m\.pt: unsupported model format"),
        ("m.weights.h5", "weights", ValueError, r"m\.weights\.h5: holds weights only"),
        ("m.h5", b"not hdf5", ValueError, r"m\.h5: not a readable HDF5 file"),
        ("empty_run", "dir", FileNotFoundError, "empty_run: run folder holds none"),
    ],
)
def test_clear_errors_name_the_file(model, tmp_path, name, content, error, message):
    path = tmp_path / name
    if content == "weights":
        model.save_weights(path)
    elif content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=message):
        load_model_any(path)


def test_weights_that_do_not_fit_the_config(model, tmp_path):
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    wrong = {"builder": "unet", "kwargs": {**KWARGS, "base_filters": 8}}
    with pytest.raises(ValueError, match=r"m\.weights\.h5: weights do not fit"):
        load_model_any(path, config=wrong)


def test_save_weights_with_config_wants_the_weights_suffix(model, tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        save_weights_with_config(model, tmp_path / "m.h5", "unet", KWARGS)


def test_open_model_by_pretrained_name(model, images, tmp_path):
    from facecolab.modelfiles.load import open_model
    from facecolab.modelfiles.manifest import add_to_manifest

    model.save(tmp_path / "tiny.keras")
    add_to_manifest(
        "tiny", tmp_path / "tiny.keras", source="train with configs/tiny.json", dataset="lfw_parts"
    )
    opened = open_model("tiny", weights_dir=tmp_path)
    assert (opened.path, opened.dataset, opened.run_config) == (
        tmp_path / "tiny.keras",
        "lfw_parts",
        None,
    )
    np.testing.assert_allclose(
        opened.model.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )
    with pytest.raises(FileNotFoundError, match="shipped: tiny"):
        open_model("other", weights_dir=tmp_path)


def test_open_model_finds_the_run_config(model, tmp_path):
    from facecolab.modelfiles.load import open_model

    path, _ = save(model, tmp_path, "weights+run-dir")
    opened = open_model(path)
    assert opened.dataset == "lfw_parts" and opened.run_config["name"] == "tiny"


def test_export_for_inference_drops_the_optimiser(tmp_path):
    """A compiled, trained checkpoint exports smaller and predicts identically."""
    from facecolab.measures.losses import build_loss
    from facecolab.modelfiles.load import export_for_inference

    trained = build_model("unet", (32, 32, 3), 3, depth=2, base_filters=4)
    trained.compile(optimizer="adam", loss=build_loss("ce"), jit_compile=False)
    labels = np.zeros((2, 32, 32), np.int32)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    trained.fit(x, labels, epochs=1, verbose=0)
    checkpoint = tmp_path / "best.keras"
    trained.save(checkpoint)
    exported = export_for_inference(checkpoint, tmp_path / "ship" / "model.keras")
    assert exported.stat().st_size < 0.7 * checkpoint.stat().st_size
    np.testing.assert_allclose(
        load_model_any(exported).predict(x, verbose=0), trained.predict(x, verbose=0), atol=1e-6
    )
    with pytest.raises(ValueError, match="model.h5.*keras"):
        export_for_inference(checkpoint, tmp_path / "model.h5")
