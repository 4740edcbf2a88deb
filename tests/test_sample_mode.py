"""What the notebooks and the demo share: a project config on the bundled sample, one run
folder per distinct config, pretrained weights or a training run."""

from __future__ import annotations

import keras
import pytest

from facecolab.modelfiles.manifest import read_manifest
from facecolab.workflows import train as train_module
from facecolab.workflows.sample_mode import project_config, raw_format, split_items
from facecolab.workflows.train import PretrainedUnavailableError, load_or_train, run_dir_for


def test_project_config_sample_mode(tmp_path):
    config = project_config(
        "p5_portrait_mobilenetv2.json",
        None,
        tmp_path,
        epochs=1,
        image_size=64,
        batch_size=2,
        imagenet=False,
        sample_count=5,
        overrides=["seed=3"],
    )
    data = config["data"]
    assert data["image_size"] == [64, 64]
    assert (config["epochs"], config["batch_size"], config["seed"]) == (1, 2, 3)
    assert config["model"]["options"]["encoder_weights"] is None
    assert data["prepared"].endswith("sample_portrait_64x64")
    assert len(list((tmp_path / "sample" / "portrait").rglob("*.png"))) == 10  # 5 images, 5 masks
    assert len(split_items(config, "val")) >= 1


def test_raw_format_reads_the_ids_the_config_trains_on(tmp_path):
    config = project_config(
        "p4_unet_celebamask_helen.json", None, tmp_path, image_size=32, sample_count=3
    )
    assert config["data"]["relabel"] == "helen"
    assert raw_format(config).spec.name == "helen"


def test_run_dir_depends_on_the_config_only(tmp_path):
    config = project_config("p4_unet_helen.json", None, tmp_path, image_size=32, sample_count=5)
    other = project_config(
        "p4_unet_helen.json", None, tmp_path, image_size=32, sample_count=5, epochs=2
    )
    assert run_dir_for(config, tmp_path) == run_dir_for(dict(config), tmp_path)
    assert run_dir_for(config, tmp_path) != run_dir_for(other, tmp_path)


def _no_training(*args, **kwargs):
    raise AssertionError("PRETRAINED must never train")


def _softmax_model(classes: int) -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Conv2D(classes, 1, activation="softmax")(inputs))


def test_load_or_train_pretrained_never_trains_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "train", _no_training)
    config = project_config("p4_unet_helen.json", None, tmp_path, image_size=32, sample_count=3)
    with pytest.raises(PretrainedUnavailableError) as raised:
        load_or_train(config, tmp_path / "run", pretrained=True)  # p4_unet_helen is not shipped
    message = str(raised.value)
    assert "'p4_unet_helen'" in message and "MODEL_PATH" in message
    assert "PRETRAINED = False" in message
    assert not (tmp_path / "run").exists()


def test_load_or_train_pretrained_loads_model_path(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "train", _no_training)
    config = project_config("p1_segnet_celeba.json", None, tmp_path, image_size=32, sample_count=3)
    model = _softmax_model(2)
    model.save(tmp_path / "mine.keras")
    loaded, run_dir = load_or_train(
        config, tmp_path / "run", pretrained=True, model_path=tmp_path / "mine.keras"
    )
    assert run_dir is None and loaded.output_shape == model.output_shape


@pytest.mark.parametrize(
    ("classes", "path", "expected"),
    [
        (3, "mine.keras", "predicts 3 classes"),  # another label set
        (2, "missing.keras", "model file not found"),
    ],
)
def test_load_or_train_pretrained_model_path_errors(tmp_path, monkeypatch, classes, path, expected):
    monkeypatch.setattr(train_module, "train", _no_training)
    config = project_config("p1_segnet_celeba.json", None, tmp_path, image_size=32, sample_count=3)
    _softmax_model(classes).save(tmp_path / "mine.keras")
    with pytest.raises(PretrainedUnavailableError, match=expected) as raised:
        load_or_train(config, tmp_path / "run", pretrained=True, model_path=tmp_path / path)
    assert "MODEL_PATH" in str(raised.value)


def test_load_or_train_pretrained_loads_the_shipped_entry_at_its_own_size(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "train", _no_training)
    config = project_config("p2_unet_celebamask_hq.json", None, tmp_path, image_size=32)
    loaded, run_dir = load_or_train(
        config, tmp_path / "run", pretrained=True, pretrained_name="p2_unet_celebamask_mini"
    )
    assert run_dir is None
    assert list(loaded.input_shape[1:3]) == read_manifest()["p2_unet_celebamask_mini"]["input_size"]


def test_model_path_without_pretrained_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "train", _no_training)
    with pytest.raises(ValueError, match="only used with PRETRAINED = True"):
        load_or_train({"name": "x"}, tmp_path / "run", model_path="mine.keras")


# config → (batch-norm momentum, learning rate) on the sample; a real data root keeps the
# config's values.
SHORT_RUN_CASES = [
    ("p1_segnet_celeba.json", 0.5, 3e-3),  # Adam 1e-3 raised
    ("p4_unet_helen.json", 0.5, 3e-3),  # Adam 1e-4 raised
    ("p3_pspnet_face8.json", 0.5, 0.1),  # SGD keeps its rate
]


@pytest.mark.parametrize("name, momentum, learning_rate", SHORT_RUN_CASES)
def test_sample_mode_sets_short_run_training(tmp_path, name, momentum, learning_rate):
    sample = project_config(name, None, tmp_path, image_size=32, sample_count=3, imagenet=False)
    assert sample["model"]["options"]["bn_momentum"] == momentum
    assert sample["optimizer"]["learning_rate"] == pytest.approx(learning_rate)
    mine = project_config(
        name,
        None,
        tmp_path,
        image_size=32,
        sample_count=3,
        imagenet=False,
        overrides=["model.options.bn_momentum=0.8"],
    )
    assert mine["model"]["options"]["bn_momentum"] == 0.8  # the caller's overrides win
    real = project_config(name, tmp_path / "raw", tmp_path, image_size=32, imagenet=False)
    assert "bn_momentum" not in real["model"]["options"]
    kept = project_config(
        name, None, tmp_path, image_size=32, sample_count=3, imagenet=False, short_run=False
    )
    assert "bn_momentum" not in kept["model"]["options"]
