"""Load a model from any of the files facecolab (or a user) writes, always in safe mode.

Formats:
    ``.weights.npz``: portable weights (``facecolab.modelfiles.portable``): the builder call, the
    weights
        and a check in one file that loads on every Keras the requirements admit; what ships
        in ``weights/`` (:func:`export_portable` writes one).
    ``.keras``: the native format (architecture + weights); it may not load on a Keras older
        than the one that wrote it.
    ``.h5`` / ``.hdf5``: a legacy full-model HDF5 file (``model.save("m.h5")``); one that holds
        weights only is treated like ``.weights.h5``.
    ``.weights.h5``: weights only, plus the configuration needed to rebuild the architecture:
        a model-config sidecar ``<stem>.json`` written by :func:`save_weights_with_config`,
        a training config (``configs/*.json`` or a run folder's ``config.json``), or the
        ``config`` argument.
    A run folder: its ``model_best.keras`` (else ``model_final.keras``).

:func:`open_model` adds what the command line needs: a ``weights/manifest.json`` name works
too, and the training config / dataset the model came from is found when it can be;
:func:`load_pretrained` loads a manifest entry by name. Writing a model file atomically is
``facecolab.modelfiles.save``'s (the ground floor); loading needs the model registry, so it lives
here.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras

from facecolab.config import TrainingConfig, resolve_config
from facecolab.data.labels import label_set_name
from facecolab.data.specs import get_spec
from facecolab.fsutil import atomic_write_bytes, read_json
from facecolab.modelfiles.manifest import (
    known_names,
    listed_name,
    pretrained_path,
    read_manifest,
)
from facecolab.modelfiles.portable import is_portable, load_portable, read_portable, save_portable
from facecolab.modelfiles.save import WEIGHTS_SUFFIX, save_model_atomic, save_weights_atomic
from facecolab.models import build_model  # importing the registry registers the custom layers

MODEL_CONFIG_FORMAT = "facecolab.model-config"
RUN_MODELS = ("model_best.keras", "model_final.keras")


def sidecar_path(weights_path) -> Path:
    """``dir/name.weights.h5`` → ``dir/name.json``."""
    weights_path = Path(weights_path)
    return weights_path.with_name(weights_path.name.removesuffix(WEIGHTS_SUFFIX) + ".json")


def save_weights_with_config(model, path, builder_name: str, builder_kwargs: dict) -> Path:
    """Save ``model``'s weights to ``path`` (``*.weights.h5``) and the builder call that
    recreates its architecture to the sidecar ``<stem>.json``.

    Args:
        builder_name: a ``facecolab.models.MODELS`` name.
        builder_kwargs: JSON-serialisable keyword arguments of ``build_model`` (including
            ``input_shape`` and ``num_classes``).

    Returns:
        ``path``.
    """
    path = Path(path)
    if not path.name.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"{path}: weights files must end with {WEIGHTS_SUFFIX}")
    save_weights_atomic(model, path)
    sidecar = {
        "format": MODEL_CONFIG_FORMAT,
        "builder": builder_name,
        "kwargs": _jsonable(builder_kwargs),
    }
    atomic_write_bytes(sidecar_path(path), (json.dumps(sidecar, indent=2) + "\n").encode())
    return path


def _jsonable(value):
    """Tuples → lists, so ``input_shape=(64, 64, 3)`` survives JSON and comparisons."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def find_run_config(model_path) -> dict | None:
    """The training config of the run a model file came from: ``config.json`` beside it or
    one folder up (``RUN/checkpoint/model-0007.weights.h5``); ``None`` when there is none."""
    model_path = Path(model_path)
    folder = model_path if model_path.is_dir() else model_path.parent
    for candidate in (folder / "config.json", folder.parent / "config.json"):
        if candidate.is_file():
            return read_json(candidate)
    return None


def builder_call(config: dict, source: str = "config") -> tuple[str, dict]:
    """``(registry name, build_model keyword arguments)`` described by a model-config sidecar
    dict or a training config.

    Training configs (validated by ``facecolab.config.resolve_config``) give ``model.name``,
    ``model.options`` and ``data.image_size``; the class count comes from ``data.dataset``'s
    spec.
    """
    if "builder" in config:
        return config["builder"], dict(config.get("kwargs", {}))
    settings = TrainingConfig.from_dict(resolve_config(config, source=source))
    data, model = settings.data, settings.model
    # The architecture only: pretrained encoder weights would be replaced by the model's own.
    options = {k: v for k, v in model.options.items() if k != "encoder_weights"}
    return model.name, {
        "input_shape": [*data.image_size, 3],
        "num_classes": get_spec(label_set_name(data.dataset, data.relabel)).num_classes,
        **options,
    }


def build_from_config(config: dict, source: str = "config"):
    """A freshly built (untrained) model from a model-config sidecar dict or a training config
    (see :func:`builder_call`)."""
    name, kwargs = builder_call(config, source)
    return build_model(name, **kwargs)


def _config_for_weights(path: Path, config) -> tuple[dict, str]:
    if isinstance(config, dict):
        return config, "config argument"
    if config is not None:
        return read_json(Path(config)), str(config)
    sidecar = (
        sidecar_path(path) if path.name.endswith(WEIGHTS_SUFFIX) else path.with_suffix(".json")
    )
    if sidecar.is_file():
        return read_json(sidecar), str(sidecar)
    run_config = find_run_config(path)
    if run_config is not None:
        return run_config, f"run config of {path}"
    raise ValueError(
        f"{path}: holds weights only and no architecture config was found; pass a config "
        f"(a training config such as configs/X.json) or put the model-config sidecar "
        f"{sidecar.name} beside it (save_weights_with_config writes one)"
    )


def _h5_holds_model(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            return "model_config" in handle.attrs
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error})") from None


def _cause(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def load_model_any(path, config=None):
    """A ``keras.Model`` from ``path`` in any supported format (see the module docstring),
    loaded in safe mode and not compiled (for inference and evaluation).

    Args:
        path: a ``.weights.npz``, ``.keras``, ``.h5``/``.hdf5`` or ``.weights.h5`` file, or a
            run folder.
        config: for weights-only files: a dict or JSON path (model-config sidecar or training
            config); default: look for the sidecar, then the run's ``config.json``.
    """
    path = Path(path)
    if path.is_dir():
        found = [path / name for name in RUN_MODELS if (path / name).is_file()]
        if not found:
            raise FileNotFoundError(f"{path}: run folder holds none of {', '.join(RUN_MODELS)}")
        path = found[0]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    if is_portable(path):
        return load_portable(path)
    name = path.name.lower()
    weights_only = name.endswith(WEIGHTS_SUFFIX) or (
        name.endswith((".h5", ".hdf5")) and not _h5_holds_model(path)
    )
    if weights_only:
        model_config, source = _config_for_weights(path, config)
        model = build_from_config(model_config, source)
        try:
            model.load_weights(path)
        except ValueError as error:
            raise ValueError(
                f"{path}: weights do not fit the architecture from {source} ({error})"
            ) from None
        except Exception as error:
            raise ValueError(f"{path}: damaged weights file ({_cause(error)})") from error
        return model
    if name.endswith(".keras") and not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: damaged or not a .keras file (not a zip archive)")
    if name.endswith((".keras", ".h5", ".hdf5")):
        try:
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:  # a damaged or crafted file fails in many ways
            raise ValueError(f"{path}: cannot load this model file ({_cause(error)})") from error
    raise ValueError(
        f"{path}: unsupported model format; use .weights.npz (portable), .keras, "
        f".h5/.hdf5 (full model) or {WEIGHTS_SUFFIX} with a config"
    )


def export_for_inference(source, destination) -> Path:
    """Save a model as a ``.keras`` file without optimiser state or compile settings: about
    a third of a training checkpoint's size (Adam keeps two slots per weight), which is what
    ships in ``weights/``.

    Args:
        source: a ``keras.Model``, or anything :func:`open_model` opens (a model file in any
            format :func:`load_model_any` reads, a run folder, a manifest name).
        destination: the ``.keras`` file to write.
    """
    destination = Path(destination)
    if destination.suffix != ".keras":
        raise ValueError(f"{destination}: inference exports are .keras files")
    model = open_model(source).model if isinstance(source, (str, Path)) else source
    destination.parent.mkdir(parents=True, exist_ok=True)
    save_model_atomic(model, destination)
    return destination


def export_portable(source, destination, config=None, dtype: str = "float32") -> Path:
    """Save a model as a portable ``.weights.npz`` (``facecolab.modelfiles.portable``): what ships
    in
    ``weights/``, because it loads on every Keras the requirements admit.

    Args:
        source: anything :func:`open_model` opens (model file, run folder, manifest name).
        destination: the ``.weights.npz`` file to write.
        config: the training config or model-config sidecar (dict or JSON path) naming the
            builder call that made the model; default: the run's ``config.json``, the sidecar
            of a ``.weights.h5`` file, or the header of a portable file.
        dtype: ``"float32"`` (exact) or ``"float16"`` (half the size).
    """
    if isinstance(config, (str, Path)):
        config = read_json(Path(config))
    opened = open_model(source, config)
    path = opened.path
    if config is None:
        config = opened.run_config
    if config is None and is_portable(path):
        config = read_portable(path)[0]
    if config is None and path.name.endswith(WEIGHTS_SUFFIX) and sidecar_path(path).is_file():
        config = read_json(sidecar_path(path))
    if config is None:
        raise ValueError(
            f"{path}: cannot tell which facecolab builder made this model; pass its training "
            "config (--config configs/X.json)"
        )
    builder, kwargs = builder_call(config, str(path))
    return save_portable(opened.model, destination, builder, kwargs, dtype)


@dataclass
class OpenedModel:
    """A loaded model and what is known about where it came from.

    Attributes:
        model: the ``keras.Model``.
        path: the file it was loaded from.
        run_config: its training config (given, or the run folder's ``config.json``), if any.
        dataset: the dataset spec name it was trained on, if known (for palettes, names).
    """

    model: object
    path: Path
    run_config: dict | None
    dataset: str | None


def open_model(name_or_path, config=None, weights_dir=None) -> OpenedModel:
    """Load a model file or run folder (:func:`load_model_any`), or a pretrained entry of
    ``weights/manifest.json`` by name (checksum verified, downloaded if its source is a URL).

    Args:
        config: a training config (dict or JSON path) describing the model; also used as the
            architecture of a weights-only file.
    """
    if isinstance(config, (str, Path)):
        config = read_json(Path(config))
    training = config if config is not None and "builder" not in config else None
    path = Path(name_or_path)
    if path.exists():
        listed = listed_name(path, weights_dir) if path.is_file() else None
        if listed is not None:  # a manifest file opened by path is verified like by name
            pretrained_path(listed, weights_dir, download_missing=False)
        model = load_model_any(path, config=config)
        run_config = training or find_run_config(path)
        data = (run_config or {}).get("data") or {}
        dataset = data.get("dataset") and label_set_name(data["dataset"], data.get("relabel"))
        return OpenedModel(model, path, run_config, dataset)
    manifest = read_manifest(weights_dir)
    if str(name_or_path) not in manifest:
        raise FileNotFoundError(
            f"{path}: no such model file or run folder, nor a pretrained name "
            f"({known_names(manifest, str(name_or_path))})"
        )
    entry = manifest[str(name_or_path)]
    if "kind" in entry:
        raise ValueError(f"{name_or_path}: a {entry['kind']} in the manifest, not a model to load")
    path = pretrained_path(str(name_or_path), weights_dir)
    # An entry may carry its training config (data, relabelling, reference figures).
    run_config = training or entry.get("config")
    return OpenedModel(load_model_any(path, config=config), path, run_config, entry.get("dataset"))


def load_pretrained(name: str, weights_dir=None, download: bool = True):
    """The ``keras.Model`` of ``weights/manifest.json`` entry ``name``
    (``facecolab.modelfiles.manifest.pretrained_path``: checksum verified, downloaded first when
    missing
    and its source is a URL), loaded in safe mode without its optimiser."""
    return load_model_any(pretrained_path(name, weights_dir, download_missing=download))
