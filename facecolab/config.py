"""Training configs: one JSON per project in ``configs/``, validated against DEFAULTS.

A config is a nested dict. Sections in ``FREE_FORM`` are passed through to their owner
(``model.options`` to the builder, ``loss`` to ``losses.build_loss``, ``reference`` to the
report); every other key must exist in ``DEFAULTS`` — an unknown key is an error naming it,
so a typo never silently falls back to a default. Project 1's original
``config_train_ADAM.json`` keys are translated by :func:`from_segnet_legacy`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

DEFAULTS: dict = {
    "name": "run",
    "description": "",
    "data": {
        "dataset": None,
        "root": None,
        "prepared": None,
        "image_size": [256, 256],
        "prepared_size": None,
        "aspect": "stretch",
        "relabel": None,
        "train_split": "train",
        "val_split": "val",
        "test_split": "test",
        "cache": True,
        "one_hot": False,
        "format_options": {},
    },
    "model": {"name": "unet", "options": {}},
    "augment": {},
    "loss": "ce",
    "optimizer": {
        "name": "adam",
        "learning_rate": 1e-3,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": None,
        "clipnorm": None,
    },
    "schedule": {"name": "constant", "warmup_epochs": 0, "min_learning_rate": 0.0},
    "callbacks": {
        "monitor": "val_loss",
        "reduce_lr_on_plateau": None,
        "early_stopping": None,
        "tensorboard": False,
        "time_limit_minutes": None,
    },
    "batch_size": 8,
    "epochs": 10,
    "steps_per_epoch": None,
    "seed": 0,
    "mixed_precision": "auto",
    "reference": {},
}
FREE_FORM = {
    ("model", "options"),
    ("loss",),
    ("reference",),
    ("augment",),
    ("data", "format_options"),
    ("callbacks", "reduce_lr_on_plateau"),
    ("callbacks", "early_stopping"),
}

# Settings with a fixed set of values, checked before anything is built.
CHOICES: dict[tuple[str, ...], tuple] = {
    ("data", "aspect"): ("stretch", "letterbox", "crop"),
    ("optimizer", "name"): ("adam", "adamw", "sgd"),
    ("schedule", "name"): ("constant", "cosine"),
    ("mixed_precision",): ("auto", True, False),
}

SEGNET_LEGACY_KEYS = {
    "TRAIN_FILE",
    "VAL_FILE",
    "TEST_FILE",
    "IMG_PREFIX",
    "LABEL_PREFIX",
    "BAYES",
    "OPT",
    "INPUT_HEIGHT",
    "INPUT_WIDTH",
    "INPUT_CHANNELS",
    "NUM_CLASSES",
    "USE_VGG",
    "VGG_FILE",
    "BATCH_SIZE",
    "SAVE_MODEL_DIR",
    "TB_LOGS",
    "LOG_DIR",
    "MAX_STEPS",
    "LEARNING_RATE",
}


def _merge(base: dict, update: dict, path: tuple[str, ...], source: str) -> dict:
    merged = copy.deepcopy(base)
    unknown = []
    for key, value in update.items():
        here = path + (key,)
        if key not in base:
            unknown.append(".".join(here))
        elif here in FREE_FORM or not isinstance(base[key], dict) or base[key] == {}:
            merged[key] = copy.deepcopy(value)
        elif not isinstance(value, dict):
            raise ValueError(f"{source}: {'.'.join(here)} must be an object, got {value!r}")
        else:
            merged[key] = _merge(base[key], value, here, source)
    if unknown:
        raise ValueError(f"{source}: unknown config keys {unknown}")
    return merged


def from_segnet_legacy(legacy: dict, source: str = "SegNet legacy config") -> dict:
    """Translate project 1's ``config_train_ADAM.json`` into this package's schema."""
    unknown = sorted(set(legacy) - SEGNET_LEGACY_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown keys in SegNet legacy config: {unknown}")
    if int(legacy.get("INPUT_CHANNELS", 3)) != 3:
        raise ValueError(f"{source}: only INPUT_CHANNELS = 3 (RGB) is supported")
    options = {"bayesian": bool(legacy.get("BAYES", True))}
    if legacy.get("USE_VGG") and legacy.get("VGG_FILE"):
        # The seed's vgg16.npy (tensorflow-vgg's pickled dict) holds the ImageNet VGG16 weights
        # that keras.applications provides as "imagenet"; Keras cannot read the .npy itself.
        vgg_file = str(legacy["VGG_FILE"])
        options["encoder_weights"] = "imagenet" if vgg_file.endswith(".npy") else vgg_file
    optimizer = str(legacy.get("OPT", "ADAM")).lower()
    return {
        "name": "segnet_celeba",
        "data": {
            "dataset": "celeba_face",
            "root": legacy.get("IMG_PREFIX"),
            "image_size": [
                int(legacy.get("INPUT_HEIGHT", 256)),
                int(legacy.get("INPUT_WIDTH", 256)),
            ],
            "format_options": {
                key.lower(): legacy[key]
                for key in ("TRAIN_FILE", "VAL_FILE", "TEST_FILE", "IMG_PREFIX", "LABEL_PREFIX")
                if key in legacy
            },
        },
        "model": {"name": "segnet_vgg16", "options": options},
        "optimizer": {
            "name": "sgd" if optimizer == "sgd" else "adam",
            "learning_rate": float(legacy.get("LEARNING_RATE", 1e-3)),
        },
        "batch_size": int(legacy.get("BATCH_SIZE", 1)),
    }


def parse_override(text: str) -> tuple[list[str], object]:
    """``"optimizer.learning_rate=1e-4"`` → ``(["optimizer", "learning_rate"], 1e-4)``.
    Values are JSON when they parse as JSON, else strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"override {text!r} must look like key.sub=value")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.split("."), value


def _override_update(config: dict, keys: list[str], value) -> dict:
    """The nested update an override stands for. A key inside a free-form section (e.g.
    ``model.options.base_filters``) edits a copy of that whole section, because merging
    replaces free-form sections and would otherwise drop the other entries."""
    for depth in range(1, len(keys)):
        if tuple(keys[:depth]) not in FREE_FORM:
            continue
        section = config
        for key in keys[:depth]:
            section = section.get(key) if isinstance(section, dict) else None
        if isinstance(section, dict):
            section = copy.deepcopy(section)
            target = section
            for key in keys[depth:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = value
            keys, value = keys[:depth], section
        break
    for key in reversed(keys):
        value = {key: value}
    return value


def resolve_config(raw: dict, overrides=(), source: str = "config") -> dict:
    """Defaults ← ``raw`` (legacy keys translated) ← ``overrides``; validated."""
    if set(raw) & SEGNET_LEGACY_KEYS:  # any legacy key: report its typos by name
        raw = from_segnet_legacy(raw, source)
    config = _merge(DEFAULTS, raw, (), source)
    for text in overrides:
        keys, value = parse_override(text)
        config = _merge(config, _override_update(config, keys, value), (), f"override {text!r}")
    if not config["data"]["dataset"]:
        raise ValueError(f"{source}: data.dataset is required")
    if not (config["data"]["prepared"] or config["data"]["root"]):
        raise ValueError(f"{source}: give data.prepared (a prepared folder) or data.root")
    for path, allowed in CHOICES.items():
        value = config
        for key in path:
            value = value[key]
        if value not in allowed:
            raise ValueError(f"{source}: {'.'.join(path)} = {value!r}; choose from {allowed}")
    return config


def load_config(path, overrides=()) -> dict:
    """Read, resolve and validate a config file; relative data paths stay as written (they
    are resolved against the working directory, as a shell user expects)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: config file not found")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    return resolve_config(raw, overrides, str(path))
