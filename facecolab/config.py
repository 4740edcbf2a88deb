"""Training configs: one JSON per project in ``configs/``, validated against DEFAULTS.

A config file (and a run's ``config.json``, and ``key=value`` overrides) is a nested dict.
Sections in ``FREE_FORM`` are passed through to their owner (``model.options`` to the builder,
``loss`` to ``losses.build_loss``, ``reference`` to the report); every other key must exist in
``DEFAULTS`` — an unknown key is an error naming it, so a typo never silently falls back to a
default. Project 1's original ``config_train_ADAM.json`` keys are translated by
:func:`from_segnet_legacy`. The schema is one frozen dataclass per section
(:class:`TrainingConfig`): ``DEFAULTS`` is derived from it, and training reads a resolved
config through it.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras

from facecolab.constants import MAX_SIDE
from facecolab.data.augment import AugmentConfig
from facecolab.data.readers import get_format
from facecolab.data.resize import ASPECT_MODES
from facecolab.data.splits import check_split_name
from facecolab.fsutil import read_json
from facecolab.measures.losses import build_loss
from facecolab.models import MODELS


@dataclass(frozen=True)
class DataSettings:
    """``data``: where the images come from and how they are read."""

    dataset: str | None = None  # a datasets name (the raw layout)
    root: str | None = None  # the raw dataset folder
    prepared: str | None = None  # the prepared folder (made from root when missing)
    image_size: tuple[int, int] = (256, 256)  # (height, width) the model trains at
    prepared_size: tuple[int, int] | None = None  # (height, width) prepared; None: image_size
    aspect: str = "stretch"  # resize.ASPECT_MODES
    relabel: str | None = None  # a datasets.labels.RELABEL_TABLES name
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    cache: bool | str = True  # decoded samples in memory (True), in a file (its path), or not
    skip_bad: bool = False  # leave out prepared items that are empty, unreadable, mis-sized
    one_hot: bool = False  # labels as one-hot (B, H, W, C) instead of ids (B, H, W)
    # Where batches are made: "tf" (tf.data), "host" (PyDataset), "device" (the split held on
    # the accelerator, augmented there) or "auto" (device on an accelerator, else tf on
    # TensorFlow and host elsewhere); see data/device_pipeline.py.
    pipeline: str = "auto"
    format_options: dict = field(default_factory=dict)  # the reader's list_items options


@dataclass(frozen=True)
class ModelSettings:
    """``model``: a ``facecolab.models`` registry name and its builder's options."""

    name: str = "unet"
    options: dict = field(default_factory=dict)
    # Start from these weights (a shipped name, a model file or a run folder of the same
    # architecture) instead of the builder's; a resumed run keeps its checkpoint's.
    initial_weights: str | None = None


@dataclass(frozen=True)
class OptimizerSettings:
    """``optimizer``: ``adam``, ``adamw`` or ``sgd`` and its settings."""

    name: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0  # sgd
    nesterov: bool = False  # sgd
    weight_decay: float | None = None  # adamw (None: 1e-4)
    clipnorm: float | None = None


@dataclass(frozen=True)
class ScheduleSettings:
    """``schedule``: per-epoch learning rate: linear warm-up, then ``constant`` or ``cosine``
    decay to ``min_learning_rate``."""

    name: str = "constant"
    warmup_epochs: int = 0
    min_learning_rate: float = 0.0


@dataclass(frozen=True)
class CallbackSettings:
    """``callbacks``: the monitored value and the optional callbacks (their Keras options)."""

    monitor: str = "val_loss"
    reduce_lr_on_plateau: dict | None = None  # keras.callbacks.ReduceLROnPlateau options
    early_stopping: dict | None = None  # keras.callbacks.EarlyStopping options
    tensorboard: bool = False
    time_limit_minutes: float | None = None
    # The resume checkpoint: after the first epoch, then once this many seconds have passed
    # since the last one (at an epoch's end), and at the end of training; 0 = every epoch.
    checkpoint_seconds: float = 60.0


@dataclass(frozen=True)
class TrainingConfig:
    """The typed view of a resolved config: one small frozen dataclass per section.

    The config's files, overrides and run records stay JSON dicts (:func:`load_config`,
    :func:`resolve_config` validate them against :data:`DEFAULTS`, which these defaults
    are); training code reads them through this view: ``settings.optimizer.learning_rate``.
    """

    name: str = "run"  # names the run folder (runs/<name>)
    description: str = ""
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    augment: dict = field(default_factory=dict)  # augment.AugmentConfig fields
    loss: str | dict = "ce"  # losses.build_loss spec
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    batch_size: int = 8
    epochs: int = 10
    steps_per_epoch: int | None = None
    seed: int = 0
    mixed_precision: bool | str = "auto"  # True, False or "auto" (mixed on a GPU)
    # Train steps per compiled call (Keras' steps_per_execution; 1 on PyTorch, which has none).
    steps_per_execution: int = 1
    # The Keras backend measured fastest for this model (benchmarks/bench_backends.py); the
    # GPU plan (scripts/gpu/train_plan.py) runs the config under it. Weights stay portable.
    backend_hint: str | None = None
    reference: dict = field(default_factory=dict)  # a seed's reported numbers

    @classmethod
    def from_dict(cls, config: Mapping) -> TrainingConfig:
        """The view of a resolved config (:func:`resolve_config`, a run's ``config.json``)."""
        data = dict(config["data"])
        for key in ("image_size", "prepared_size"):
            data[key] = None if data[key] is None else tuple(data[key])
        sections = {
            "data": DataSettings(**data),
            "model": ModelSettings(**config["model"]),
            "optimizer": OptimizerSettings(**config["optimizer"]),
            "schedule": ScheduleSettings(**config["schedule"]),
            "callbacks": CallbackSettings(**config["callbacks"]),
        }
        return cls(**{**config, **sections})

    @classmethod
    def of(cls, config: Mapping | TrainingConfig) -> TrainingConfig:
        """``config`` itself when it is the view already, else :meth:`from_dict` of it."""
        return config if isinstance(config, cls) else cls.from_dict(config)

    def to_dict(self) -> dict:
        """The config as JSON reads it back (lists, not tuples)."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def augment_config(self) -> AugmentConfig:
        """The ``augment`` section as the augmentations read it."""
        return AugmentConfig.from_dict(self.augment)


# Every setting and its default: the config file format, derived from the dataclasses.
DEFAULTS: dict = TrainingConfig().to_dict()
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
    ("data", "aspect"): ASPECT_MODES,
    ("optimizer", "name"): ("adam", "adamw", "sgd"),
    ("schedule", "name"): ("constant", "cosine"),
    ("mixed_precision",): ("auto", True, False),
    ("data", "pipeline"): ("auto", "tf", "host", "device"),
    ("backend_hint",): (None, "jax", "tensorflow", "torch"),
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _whole(low: int):
    return lambda v: _is_int(v) and v >= low, f"a whole number >= {low}"


def _optional(rule):
    check, what = rule
    return lambda v: v is None or check(v), f"null or {what}"


def _text(v) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _file_name(v) -> bool:
    return _text(v) and "/" not in v and "\\" not in v and v not in (".", "..")


def _split_name(v) -> bool:
    try:
        return isinstance(v, str) and bool(check_split_name(v))
    except ValueError:
        return False


# Type and range of every setting that is not free-form or a choice: (check, what it wants).
# One table, checked in :func:`resolve_config` before any data or model work.
TYPES: dict[tuple[str, ...], tuple] = {
    ("name",): (_file_name, "a plain name (it names the run folder: no '/')"),
    ("description",): (lambda v: isinstance(v, str), "a string"),
    ("data", "dataset"): (_text, "a dataset name"),
    ("data", "root"): (lambda v: v is None or _text(v), "null or a folder"),
    ("data", "prepared"): (lambda v: v is None or _text(v), "null or a folder"),
    ("data", "image_size"): (
        lambda v: (
            isinstance(v, list)
            and len(v) == 2
            and all(_is_int(x) for x in v)
            and all(1 <= x <= MAX_SIDE for x in v)
        ),
        f"[height, width], whole numbers 1..{MAX_SIDE}",
    ),
    ("data", "prepared_size"): (
        lambda v: (
            v is None
            or (
                isinstance(v, list)
                and len(v) == 2
                and all(_is_int(x) for x in v)
                and all(1 <= x <= MAX_SIDE for x in v)
            )
        ),
        f"null or [height, width], whole numbers 1..{MAX_SIDE}",
    ),
    ("data", "relabel"): (lambda v: v is None or _text(v), "null or a relabel table name"),
    ("data", "train_split"): (_split_name, "a split name"),
    ("data", "val_split"): (_split_name, "a split name"),
    ("data", "test_split"): (_split_name, "a split name"),
    ("data", "cache"): (lambda v: isinstance(v, bool) or _text(v), "true, false or a file"),
    ("data", "one_hot"): (lambda v: isinstance(v, bool), "true or false"),
    ("data", "skip_bad"): (lambda v: isinstance(v, bool), "true or false"),
    ("data", "format_options"): (lambda v: isinstance(v, dict), "an object"),
    ("model", "name"): (_text, "a model name"),
    ("model", "initial_weights"): (
        lambda v: v is None or _text(v),
        "null or a shipped name, model file or run folder",
    ),
    ("model", "options"): (lambda v: isinstance(v, dict), "an object"),
    ("augment",): (lambda v: isinstance(v, dict), "an object"),
    ("loss",): (lambda v: isinstance(v, (str, dict)), "a string or an object"),
    ("optimizer", "learning_rate"): (lambda v: _is_number(v) and v > 0, "a number > 0"),
    ("optimizer", "momentum"): (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("optimizer", "nesterov"): (lambda v: isinstance(v, bool), "true or false"),
    ("optimizer", "weight_decay"): (
        lambda v: v is None or (_is_number(v) and v >= 0),
        "null or a number >= 0",
    ),
    ("optimizer", "clipnorm"): (lambda v: v is None or (_is_number(v) and v > 0), "null or > 0"),
    ("schedule", "warmup_epochs"): _whole(0),
    ("schedule", "min_learning_rate"): (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    ("callbacks", "monitor"): (_text, "a metric name such as val_loss"),
    ("callbacks", "reduce_lr_on_plateau"): (
        lambda v: v is None or isinstance(v, dict),
        "null or an object",
    ),
    ("callbacks", "early_stopping"): (
        lambda v: v is None or isinstance(v, dict),
        "null or an object",
    ),
    ("callbacks", "tensorboard"): (lambda v: isinstance(v, bool), "true or false"),
    ("callbacks", "time_limit_minutes"): (
        lambda v: v is None or (_is_number(v) and v > 0),
        "null or a number of minutes > 0",
    ),
    ("callbacks", "checkpoint_seconds"): (
        lambda v: _is_number(v) and v >= 0,
        "a number of seconds >= 0",
    ),
    ("steps_per_execution",): _whole(1),
    ("batch_size",): _whole(1),
    ("epochs",): _whole(1),
    ("steps_per_epoch",): _optional(_whole(1)),
    ("seed",): _whole(0),
    ("reference",): (lambda v: isinstance(v, dict), "an object"),
}

# The project configs that ship as package data, found from this module's own folder (a
# folder named facecolab in the working folder would stand in for the package name).
SHIPPED_CONFIGS = Path(__file__).resolve().parent / "configs"

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


def _legacy_number(legacy: dict, key: str, default, kind, source: str):
    """``kind(legacy[key])`` (the seed wrote numbers, maybe as strings); a value that is no
    such number is an error naming the key, never silently truncated."""
    value = legacy.get(key, default)
    try:
        number = kind(value)
        whole = kind is not int or number == float(value)
    except (TypeError, ValueError):
        whole = False
    if not whole or isinstance(value, bool):
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{source}: {key} = {value!r}: expected {what}")
    return number


def from_segnet_legacy(legacy: dict, source: str = "SegNet legacy config") -> dict:
    """Translate project 1's ``config_train_ADAM.json`` into this package's schema."""
    unknown = sorted(set(legacy) - SEGNET_LEGACY_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown keys in SegNet legacy config: {unknown}")

    def number(key, default, kind=int):
        return _legacy_number(legacy, key, default, kind, source)

    if number("INPUT_CHANNELS", 3) != 3:
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
            "image_size": [number("INPUT_HEIGHT", 256), number("INPUT_WIDTH", 256)],
            "format_options": {
                key.lower(): legacy[key]
                for key in ("TRAIN_FILE", "VAL_FILE", "TEST_FILE", "IMG_PREFIX", "LABEL_PREFIX")
                if key in legacy
            },
        },
        "model": {"name": "segnet_vgg16", "options": options},
        "optimizer": {
            "name": "sgd" if optimizer == "sgd" else "adam",
            "learning_rate": number("LEARNING_RATE", 1e-3, float),
        },
        "batch_size": number("BATCH_SIZE", 1),
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
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: a config must be a JSON object, got {type(raw).__name__}")
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
    check_config(config, source)
    return config


def _value(config: dict, path: tuple[str, ...]):
    for key in path:
        config = config[key]
    return config


def check_config(config: dict, source: str = "config") -> None:
    """The one validation of a merged config, before any data or model work: every
    setting's type and range (:data:`TYPES`, :data:`CHOICES`), then the sections owned by
    other modules — the dataset name, the model name and builder options, the loss, the
    augmentations, the callbacks' options and the reader's format options.

    Raises:
        ValueError: ``"<source>: <setting> = <value>: expected <what>"`` for the first bad
            setting.
    """
    for path, (check, what) in TYPES.items():
        value = _value(config, path)
        if not check(value):
            raise ValueError(f"{source}: {'.'.join(path)} = {value!r}: expected {what}")
    for path, allowed in CHOICES.items():
        value = _value(config, path)
        if value not in allowed:
            raise ValueError(f"{source}: {'.'.join(path)} = {value!r}; choose from {allowed}")
    try:
        _check_owned_sections(config)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


# What an option's value must be, by the parameter's annotation (or its default's type when
# it has none): the check and how the message says it.
_OPTION_KINDS = {
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    "float": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "str": (lambda v: v is None or isinstance(v, str), "a string"),
}


def _option_kind(parameter: inspect.Parameter) -> str | None:
    """``bool``/``int``/``float``/``str`` from the annotation; without one, from the default
    (an unannotated ``0`` may stand for any number, e.g. Keras' ``min_delta=0``)."""
    annotation = parameter.annotation
    annotation = getattr(annotation, "__name__", annotation)
    if annotation in _OPTION_KINDS:
        return annotation
    default = parameter.default
    for kind in (bool, float, str):
        if isinstance(default, kind):
            return kind.__name__
    return "float" if _is_int(default) else None


def _check_options(section: str, function, options: dict, taken=(), any_name=None) -> None:
    """``options`` must be keyword parameters of ``function`` (other than ``taken``), each of
    its parameter's kind (:func:`_option_kind`). ``any_name``: whether names outside the
    signature are accepted (default: when ``function`` takes ``**kwargs``)."""
    parameters = inspect.signature(function).parameters
    if any_name is None:
        any_name = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = {
        name: p
        for name, p in parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in {"self", *taken}
    }
    unknown = sorted(set(options) - set(named))
    if unknown and not any_name:
        raise ValueError(f"{section}: unknown options {unknown}; valid: {sorted(named)}")
    for name, value in options.items():
        kind = _option_kind(named[name]) if name in named else None
        if kind is not None and not _OPTION_KINDS[kind][0](value):
            raise ValueError(f"{section}.{name} = {value!r}: expected {_OPTION_KINDS[kind][1]}")


def _check_owned_sections(config: dict) -> None:
    data, model = config["data"], config["model"]
    fmt = get_format(data["dataset"], data["relabel"])  # the table must read these ids
    _check_options(
        "data.format_options",
        fmt.list_items,
        data["format_options"],
        taken=("root", "split", "seed", "fractions"),
    )
    if model["name"] not in MODELS:
        raise ValueError(f"model.name = {model['name']!r}; choose from {sorted(MODELS)}")
    _check_options(
        "model.options",
        MODELS[model["name"]],
        model["options"],
        taken=("input_shape", "num_classes"),
    )
    build_loss(config["loss"])
    _check_options("augment", AugmentConfig, config["augment"], any_name=False)
    kinds = {
        "reduce_lr_on_plateau": keras.callbacks.ReduceLROnPlateau,
        "early_stopping": keras.callbacks.EarlyStopping,
    }
    for name, kind in kinds.items():
        # ReduceLROnPlateau takes **kwargs only to pass them to Callback, which takes none.
        options = config["callbacks"][name] or {}
        _check_options(f"callbacks.{name}", kind.__init__, options, ("monitor",), any_name=False)


def shipped_configs() -> list[str]:
    """The names of the project configs that ship with the package (``configs/*.json`` of the
    repository, package data ``facecolab/configs``)."""
    return sorted(p.name for p in SHIPPED_CONFIGS.iterdir() if p.name.endswith(".json"))


def config_file(name_or_path) -> Path:
    """``name_or_path`` when that file exists, else the shipped config of that name (e.g.
    ``"p2_unet_celebamask_hq.json"`` or ``"configs/p2_unet_celebamask_hq.json"``, from any
    working folder or an installed wheel).

    Raises:
        FileNotFoundError: neither exists; the message names the path.
    """
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = SHIPPED_CONFIGS / path.name
    if path.parent in (Path(), Path("configs")) and shipped.is_file():
        return Path(str(shipped))
    raise FileNotFoundError(f"{path}: config file not found")


def load_config(path, overrides=()) -> dict:
    """Read, resolve and validate a config file (a path, or the name of a shipped config:
    :func:`config_file`); relative data paths stay as written (they are resolved against the
    working directory, as a shell user expects)."""
    path = config_file(path)
    return resolve_config(read_json(path), overrides, str(path))
