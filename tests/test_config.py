"""Configs: every shipped config resolves into something the package can build; bad keys are
errors that name them; project 1's legacy keys translate; overrides parse JSON values."""

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from facecolab.config import (
    CHOICES,
    DEFAULTS,
    TYPES,
    TrainingConfig,
    config_file,
    load_config,
    parse_override,
    resolve_config,
    shipped_configs,
)
from facecolab.data.augment import AugmentConfig
from facecolab.data.labels import label_set_name
from facecolab.data.readers import FORMATS
from facecolab.data.specs import get_spec
from facecolab.measures.losses import build_loss
from facecolab.measures.metrics import summarize
from facecolab.models import MODELS
from facecolab.workflows.evaluate import flatten_metrics

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("*.json"))
WITH_REFERENCE = [p for p in CONFIGS if "reference" in json.loads(p.read_text())]
MINIMAL = {"data": {"dataset": "lfw_parts", "prepared": "data/x"}}
LEGACY = {
    "TRAIN_FILE": "Train1000.txt",
    "VAL_FILE": "Dev200.txt",
    "TEST_FILE": "Test200.txt",
    "IMG_PREFIX": "Face/1000Tr200Va200Te",
    "LABEL_PREFIX": "Face/1000Tr200Va200Te",
    "BAYES": True,
    "OPT": "ADAM",
    "INPUT_HEIGHT": 224,
    "INPUT_WIDTH": 192,
    "INPUT_CHANNELS": 3,
    "NUM_CLASSES": 2,
    "USE_VGG": True,
    "VGG_FILE": "vgg16.npy",
    "BATCH_SIZE": 1,
    "LEARNING_RATE": 0.01,
}


def test_configs_folder_holds_every_project():
    names = {path.stem for path in CONFIGS}
    for expected in (
        "p1_segnet_celeba",
        "config_train_ADAM",
        "p2_unet_celebamask_hq",
        "p3_pspnet_face8",
        "p3_deeplab_face8",
        "p4_unet_helen",
        "p5_portrait_mobilenetv2",
        "lfw_parts",
    ):
        assert expected in names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_typed_view_holds_the_whole_config(path):
    """TrainingConfig is the schema: DEFAULTS is derived from it, every validated setting is
    one of its fields, and a resolved config round-trips through it unchanged."""
    config = load_config(path)
    settings = TrainingConfig.from_dict(config)
    assert settings.to_dict() == config
    assert settings.data.image_size == tuple(config["data"]["image_size"])
    assert settings.optimizer.learning_rate == config["optimizer"]["learning_rate"]
    for setting in (*TYPES, *CHOICES):
        section = settings
        for key in setting:
            section = getattr(section, key)  # AttributeError: a rule for no field


def test_shipped_configs_are_package_data_found_by_name(tmp_path, monkeypatch):
    """configs/ ships inside the package: a name works from any folder (and from a wheel,
    tests/test_package.py); a file of that name in the working folder comes first."""
    assert shipped_configs() == sorted(path.name for path in CONFIGS)
    monkeypatch.chdir(tmp_path)
    for name in ("lfw_parts.json", "configs/lfw_parts.json"):
        assert config_file(name).read_bytes() == (CONFIG_DIR / "lfw_parts.json").read_bytes()
    (tmp_path / "lfw_parts.json").write_text(json.dumps(MINIMAL))
    assert config_file("lfw_parts.json") == Path("lfw_parts.json")
    with pytest.raises(FileNotFoundError, match="elsewhere/lfw_parts.json: config file not"):
        config_file("elsewhere/lfw_parts.json")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_resolves_to_buildable_parts(path):
    config = load_config(path)
    data = config["data"]
    assert data["dataset"] in FORMATS
    spec = get_spec(data["dataset"])
    for split in (data["train_split"], data["val_split"], data["test_split"]):
        assert split in FORMATS[data["dataset"]].splits, f"{path.name}: no split {split!r}"
    assert not Path(data["prepared"] or data["root"]).is_absolute(), "paths stay relative"

    model = config["model"]
    assert model["name"] in MODELS
    # bind() raises TypeError on an option the builder does not take
    inspect.signature(MODELS[model["name"]]).bind(
        input_shape=(*data["image_size"], 3), num_classes=spec.num_classes, **model["options"]
    )

    build_loss(config["loss"])
    AugmentConfig.from_dict(config["augment"])
    assert config["batch_size"] >= 1 and config["epochs"] >= 1
    assert config["optimizer"]["learning_rate"] > 0


@pytest.mark.parametrize("path", WITH_REFERENCE, ids=[p.name for p in WITH_REFERENCE])
def test_reference_metrics_use_evaluation_names(path):
    config = load_config(path)
    reference = config["reference"]
    spec = get_spec(label_set_name(config["data"]["dataset"], config["data"]["relabel"]))
    identity = np.eye(spec.num_classes, dtype=np.int64)
    known = set(
        flatten_metrics(summarize(identity, spec.class_names, dict(spec.f1_groups) or None))
    )
    assert reference["source"]
    for name, value in reference["metrics"].items():
        assert name in known, f"{path.name}: {name} is no metric name"
        assert 0.0 <= value <= 1.0, f"{path.name}: {name} = {value} is not a fraction"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("optimizer.name=rmsprop", "optimizer.name"),
        ("schedule.name=cosin", "schedule.name"),
        ("data.aspect=squash", "data.aspect"),
        ("mixed_precision=yes", "mixed_precision"),
    ],
)
def test_values_outside_their_choices_are_named(override, named):
    with pytest.raises(ValueError, match=rf"my.json: {named} = .*choose from"):
        resolve_config(MINIMAL, (override,), source="my.json")


@pytest.mark.parametrize(
    ("raw", "overrides", "named"),
    [
        (MINIMAL | {"epochz": 3}, (), "epochz"),
        ({**MINIMAL, "optimizer": {"lerning_rate": 0.1}}, (), "optimizer.lerning_rate"),
        ({"data": {**MINIMAL["data"], "image_sise": [64, 64]}}, (), "data.image_sise"),
        ({**MINIMAL, "callbacks": {"monitr": "val_loss"}}, (), "callbacks.monitr"),
        (MINIMAL, ("optimizer.lerning_rate=0.1",), "optimizer.lerning_rate"),
        (MINIMAL, ("batchsize=4",), "batchsize"),
        ({**LEGACY, "BATCH_SIZ": 2}, (), "BATCH_SIZ"),
    ],
)
def test_unknown_keys_are_named(raw, overrides, named):
    with pytest.raises(ValueError, match="unknown") as error:
        resolve_config(raw, overrides, source="my.json")
    message = str(error.value)
    assert named in message
    assert (overrides[0] if overrides else "my.json") in message  # where the bad key came from
    assert "TRAIN_FILE" not in message  # only the bad key, not every legacy key


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"data": {"prepared": "data/x"}}, "data.dataset is required"),
        ({"data": {"dataset": "lfw_parts"}}, "data.prepared"),
        ({**MINIMAL, "optimizer": 0.1}, "optimizer must be an object"),
        ({**LEGACY, "INPUT_CHANNELS": 1}, "INPUT_CHANNELS"),
    ],
)
def test_invalid_configs_are_errors(raw, problem):
    with pytest.raises(ValueError, match=problem):
        resolve_config(raw, source="my.json")


def test_missing_and_malformed_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        load_config(tmp_path / "nothing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ')
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        load_config(broken)


def test_legacy_segnet_keys_translate(tmp_path):
    path = tmp_path / "config_train_ADAM.json"
    path.write_text(json.dumps(LEGACY))
    config = load_config(path)
    assert config["data"]["dataset"] == "celeba_face"
    assert config["data"]["root"] == "Face/1000Tr200Va200Te"
    assert config["data"]["image_size"] == [224, 192]
    assert config["data"]["format_options"] == {
        "train_file": "Train1000.txt",
        "val_file": "Dev200.txt",
        "test_file": "Test200.txt",
        "img_prefix": "Face/1000Tr200Va200Te",
        "label_prefix": "Face/1000Tr200Va200Te",
    }
    assert config["model"] == {
        "name": "segnet_vgg16",
        # tensorflow-vgg's vgg16.npy holds what Keras downloads as ImageNet VGG16 weights
        "options": {"bayesian": True, "encoder_weights": "imagenet"},
        "initial_weights": None,
    }
    assert config["optimizer"]["name"] == "adam"
    assert config["optimizer"]["learning_rate"] == 0.01
    assert config["batch_size"] == 1
    # the rest comes from DEFAULTS
    assert config["epochs"] == DEFAULTS["epochs"]
    assert config["loss"] == DEFAULTS["loss"]


def test_legacy_translation_reads_sgd_scratch_and_overrides():
    raw = {**LEGACY, "OPT": "SGD", "USE_VGG": False, "BAYES": False}
    config = resolve_config(raw, ["batch_size=4"])
    assert config["optimizer"]["name"] == "sgd"
    assert config["model"]["options"] == {"bayesian": False}
    assert config["batch_size"] == 4


def test_shipped_legacy_config_matches_the_project_1_config():
    legacy = load_config(CONFIG_DIR / "config_train_ADAM.json")
    project = load_config(CONFIG_DIR / "p1_segnet_celeba.json")
    assert legacy["data"]["dataset"] == project["data"]["dataset"]
    assert legacy["data"]["root"] == project["data"]["root"]
    assert legacy["data"]["image_size"] == project["data"]["image_size"]
    assert legacy["model"]["name"] == project["model"]["name"]
    assert legacy["model"]["options"]["bayesian"] is project["model"]["options"]["bayesian"]
    for key in ("name", "learning_rate"):
        assert legacy["optimizer"][key] == project["optimizer"][key]
    assert legacy["batch_size"] == project["batch_size"] == 1


@pytest.mark.parametrize(
    ("text", "keys", "value"),
    [
        ("epochs=3", ["epochs"], 3),
        ("optimizer.learning_rate=1e-4", ["optimizer", "learning_rate"], 1e-4),
        ("data.image_size=[64, 64]", ["data", "image_size"], [64, 64]),
        ("augment.hflip=true", ["augment", "hflip"], True),
        ('loss={"dice": 1, "ce": 2}', ["loss"], {"dice": 1, "ce": 2}),
        ("callbacks.early_stopping=null", ["callbacks", "early_stopping"], None),
        ("name=my_run", ["name"], "my_run"),  # not JSON: kept as a string
        ("data.prepared=data/x=y", ["data", "prepared"], "data/x=y"),
    ],
)
def test_parse_override(text, keys, value):
    assert parse_override(text) == (keys, value)


@pytest.mark.parametrize("text", ["epochs", "=3", ""])
def test_malformed_override_is_an_error(text):
    with pytest.raises(ValueError, match="key.sub=value"):
        parse_override(text)


def test_overrides_apply_on_top_of_the_file():
    raw = {
        **MINIMAL,
        "model": {"name": "unet", "options": {"depth": 4, "base_filters": 16}},
        "augment": {"hflip": True, "rotate": 10},
        "epochs": 5,
    }
    config = resolve_config(
        raw,
        [
            "epochs=2",
            "optimizer.learning_rate=0.5",
            "model.options.base_filters=8",  # edits one option, keeps the others
            "augment.rotate=0",
            "callbacks.early_stopping.patience=3",
            'loss={"dice": 1}',
        ],
    )
    assert config["epochs"] == 2
    assert config["optimizer"]["learning_rate"] == 0.5
    assert config["optimizer"]["name"] == DEFAULTS["optimizer"]["name"]
    assert config["model"]["options"] == {"depth": 4, "base_filters": 8}
    assert config["augment"] == {"hflip": True, "rotate": 0}
    assert config["callbacks"]["early_stopping"] == {"patience": 3}
    assert config["loss"] == {"dice": 1}
    assert raw["model"]["options"]["base_filters"] == 16, "the input dict is left alone"


def test_override_replaces_a_whole_free_form_section():
    raw = {**MINIMAL, "augment": {"hflip": True, "rotate": 10}}
    assert resolve_config(raw, ["augment={}"])["augment"] == {}
