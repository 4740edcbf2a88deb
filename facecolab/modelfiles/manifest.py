"""Pretrained weights: ``weights/manifest.json`` says what each file is and where it comes from.

The manifest maps a name to one entry::

    {
      "lfw_parts_unet": {
        "file": "lfw_parts_unet.weights.npz",    # relative to the weights folder
        "sha256": "…",                           # of the file's bytes
        "size_bytes": 1234567,
        "source": "https://…/lfw_parts_unet.weights.npz" | "train with configs/lfw_parts.json",
        "dataset": "lfw_parts",                  # a facecolab.data spec name
        "input_size": [128, 128],
        "class_names": ["background", "skin", "hair"],
        "metrics": {"pixel_accuracy": 0.95, …}   # and any other notes
      }
    }

An entry with a ``kind`` is not a segmentation model: ``"face_detector"`` is the shipped
BlazeFace ``.tflite`` (``facecolab.modelfiles.face_detector``), which has no dataset or
classes; :func:`model_names` lists the segmentation models alone.

Ship portable ``.weights.npz`` files (``facecolab.modelfiles.portable``, written by ``python -m
facecolab
export --model RUN_DIR --out weights/NAME.weights.npz``): they load on every Keras the
requirements admit, while a ``.keras`` file may fail on a Keras older than the one that wrote it.

The manifest and the files that ship are package data (:func:`default_weights_dir`, found
beside this package), so an installed wheel finds them as a checkout does.
:func:`pretrained_path` never returns a file whose checksum differs from the manifest's, and
when the file is missing it downloads it (``source`` is a URL; into :func:`cache_dir` for the
packaged manifest) or says how to train it; ``facecolab.modelfiles.load.load_pretrained`` loads the
model from there. This module needs neither numpy nor Keras.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from facecolab.config import config_file, load_config
from facecolab.fsutil import atomic_write_bytes, contained, output_folder, read_json

MANIFEST_NAME = "manifest.json"
REQUIRED_KEYS = ("file", "sha256", "source")
CHUNK_BYTES = 1 << 20
CACHE_ENV = "FACECOLAB_CACHE"


def model_names(manifest: dict[str, dict]) -> list[str]:
    """The names of ``manifest``'s segmentation models (entries without a ``kind``)."""
    return [name for name, entry in manifest.items() if "kind" not in entry]


def default_weights_dir() -> Path:
    """The weights that ship with the package: ``facecolab/pretrained/`` (``manifest.json``
    and the ``.weights.npz`` files) of an installed wheel; in a checkout, a link to the
    repository's ``weights/``. Found from this module's own package, so a folder named
    ``facecolab`` in the working folder (a clone, seen from its parent), which Python imports
    as a namespace package in front of an editable install, does not hide it."""
    return Path(__file__).resolve().parents[1] / "pretrained"


def cache_dir() -> Path:
    """Where manifest files that do not ship are downloaded (their ``source`` is a URL):
    ``$FACECOLAB_CACHE/weights``, else ``$XDG_CACHE_HOME/facecolab/weights``, else
    ``~/.cache/facecolab/weights`` (an installed package's own folder may be read-only)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "weights"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "facecolab" / "weights"


def _weights_dir(weights_dir) -> Path:
    return Path(weights_dir) if weights_dir is not None else default_weights_dir()


def sha256_file(path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (weights can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(weights_dir=None) -> dict[str, dict]:
    """The manifest of ``weights_dir`` (``{}`` when it has none), each entry checked for the
    required keys and its ``file`` for staying inside ``weights_dir`` (no ``..``, absolute
    path or symbolic link out), so no consumer ever opens, hashes or downloads to a path a
    manifest smuggled in."""
    folder = _weights_dir(weights_dir)
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: must hold a JSON object mapping names to entries")
    for name, entry in manifest.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: entry {name!r} must be an object")
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        if missing:
            raise ValueError(f"{path}: entry {name!r} lacks {', '.join(missing)}")
        texts = isinstance(entry["file"], str) and isinstance(entry["source"], str)
        if not (texts and isinstance(entry["sha256"], (str, type(None)))):
            raise ValueError(
                f"{path}: entry {name!r}: file and source must be text, sha256 text or null"
            )
        contained(folder, entry["file"], f"{path}: entry {name!r} file")
    return manifest


def entry_file(name: str, entry: dict, weights_dir=None) -> Path:
    """Where manifest entry ``name``'s file lives (checked to stay inside its folder): in
    ``weights_dir``; for the packaged manifest (``weights_dir`` ``None``), the package's copy
    when it ships, else, for a download (``source`` a URL), its place in :func:`cache_dir`."""
    folder = _weights_dir(weights_dir)
    what = f"{folder / MANIFEST_NAME}: entry {name!r} file"
    path = contained(folder, entry["file"], what)
    if weights_dir is None and not path.exists() and _is_url(entry["source"]):
        return contained(cache_dir(), entry["file"], what)
    return path


def listed_name(path, weights_dir=None) -> str | None:
    """The manifest name whose file ``path`` is (``None`` when it is not listed), so a model
    opened by path is checked like one opened by name."""
    resolved = Path(path).resolve()
    for name, entry in read_manifest(weights_dir).items():
        if entry_file(name, entry, weights_dir).resolve() == resolved:
            return name
    return None


def add_to_manifest(name: str, path, weights_dir=None, **info) -> dict:
    """Record the weights file ``path`` as ``name`` (replacing an entry of that name).

    Args:
        name: the key users pass to ``facecolab.modelfiles.load.load_pretrained``.
        path: the weights file; it must lie inside ``weights_dir`` (default: the folder of
            ``path``), the manifest stores it relative to that folder.
        weights_dir: the folder holding ``manifest.json``.
        **info: ``source`` (required: a URL or "train with configs/X.json"), and usually
            ``dataset``, ``metrics``, ``input_size``, ``class_names``; any other JSON value is
            kept as is.

    Returns:
        The entry written, with ``file``, ``sha256`` and ``size_bytes`` filled in.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    if "source" not in info:
        raise ValueError(
            f"{name}: say where the weights come from: source=URL or "
            "source='train with configs/X.json'"
        )
    folder = _weights_dir(weights_dir) if weights_dir is not None else path.parent
    relative = Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    contained(folder, relative, f"{path}: must lie inside the weights folder {folder}; file")
    entry = {
        "file": relative,
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        **info,
    }
    with output_folder(folder):  # read-modify-write: a concurrent add would lose an entry
        manifest = read_manifest(folder)
        manifest[name] = entry
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(folder / MANIFEST_NAME, text.encode())
    return entry


def pretrained_export(name: str, fmt: str = "tflite", weights_dir=None) -> Path:
    """The verified ready-made deployment file of manifest entry ``name``: its
    ``exports[fmt]`` record (``file``, ``sha256``, ``size_bytes``, ``source``), e.g. the
    ``.tflite`` with model metadata that ships beside the weights, so a user who only wants
    that file needs neither TensorFlow nor Keras.

    Raises:
        FileNotFoundError: no such entry, no such export of it, or its file is missing.
        ValueError: the file's sha256 differs from the record's.
    """
    folder = _weights_dir(weights_dir)
    manifest = read_manifest(weights_dir)
    exports = manifest.get(name, {}).get("exports", {})
    if fmt not in exports:
        shipped = sorted(
            f"{key} ({fmt_})"
            for key, entry in manifest.items()
            for fmt_ in entry.get("exports", {})
        )
        raise FileNotFoundError(
            f"{folder / MANIFEST_NAME}: no {fmt} export of {name!r} ships "
            f"(those that do: {', '.join(shipped) or 'none'}); write one with "
            f"facecolab export --model {name} --format {fmt}"
        )
    record = exports[fmt]
    path = contained(folder, record["file"], f"{folder / MANIFEST_NAME}: {name} {fmt} file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the {fmt} export of {name!r} is missing")
    found = sha256_file(path)
    if found != record["sha256"]:
        raise ValueError(f"{path}: sha256 {found}, the manifest expects {record['sha256']}")
    return path


def _how_to_get(name: str, entry: dict, path: Path) -> str:
    source = entry["source"]
    if _is_url(source):
        return f"download it from {source} to {path} (or call load_pretrained({name!r}))"
    return f"{source}, then python -m facecolab export --model RUN_DIR --out {path}"


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def download_file(url: str, dest, sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest`` through a temporary file in the same folder; the checksum is
    verified before the rename, so ``dest`` never holds a partial or wrong file.

    Raises:
        FileNotFoundError: the server answered with an HTTP error (e.g. 404).
        ConnectionError: the server could not be reached.
        ValueError: the downloaded bytes do not match ``sha256``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle, urllib.request.urlopen(url, timeout=timeout) as reply:
            for chunk in iter(lambda: reply.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                handle.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(
                f"{dest}: download from {url} has sha256 {digest.hexdigest()}, "
                f"the manifest expects {sha256}"
            )
        os.replace(tmp, dest)
    except urllib.error.HTTPError as error:
        raise FileNotFoundError(
            f"{url}: download of {dest.name} failed (HTTP {error.code} {error.reason})"
        ) from None
    except urllib.error.URLError as error:
        raise ConnectionError(f"{url}: cannot reach the server ({error.reason})") from None
    except TimeoutError:
        raise ConnectionError(f"{url}: no answer within {timeout:g} s") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def shipped_names(manifest: dict) -> list[str]:
    """The segmentation models with published weights (a checksum), sorted."""
    return sorted(name for name in model_names(manifest) if manifest[name].get("sha256"))


def _shipped_text(manifest: dict) -> str:
    return f"shipped: {', '.join(shipped_names(manifest)) or 'none yet'}"


def known_names(manifest: dict, asked: str | None = None) -> str:
    """``"did you mean 'a'? shipped: a, b; recipes without published weights: c"`` for
    messages about a model name ``asked`` that the manifest lacks (the question only for a
    close match)."""
    models = model_names(manifest)
    recipes = sorted(set(models) - set(shipped_names(manifest)))
    listed = f"; recipes without published weights: {', '.join(recipes)}" if recipes else ""
    close = difflib.get_close_matches(asked, models, n=1) if asked else []
    question = f"did you mean {close[0]!r}? " if close else ""
    return question + _shipped_text(manifest) + listed


def pretrained_path(name: str, weights_dir=None, download_missing: bool = True) -> Path:
    """The verified file of manifest entry ``name``, downloading it first when it is missing
    and its source is a URL.

    Raises:
        ValueError: unknown name (the message lists the known ones) or checksum mismatch
            (the message names the file and both hashes).
        FileNotFoundError: the file is missing and cannot be downloaded; the message says
            how to get or train it.
    """
    folder = _weights_dir(weights_dir)
    manifest = read_manifest(folder)
    if name not in manifest:
        raise ValueError(
            f"no pretrained weights named {name!r} in {folder / MANIFEST_NAME} "
            f"({known_names(manifest, name)})"
        )
    entry = manifest[name]
    path = entry_file(name, entry, weights_dir)
    if not path.exists():
        if not (download_missing and _is_url(entry["source"])):
            unpublished = (
                f"{name!r} is a training recipe without published weights "
                f"({_shipped_text(manifest)}); to use it, "
                if entry.get("sha256") is None
                else f"weights {name!r} not found; "
            )
            raise FileNotFoundError(f"{path}: {unpublished}{_how_to_get(name, entry, path)}")
        download_file(entry["source"], path, entry["sha256"])
    if entry["sha256"] is None:
        raise ValueError(
            f"{path}: the manifest records no checksum for {name!r} (no published weights "
            f"yet); to use your own trained file, record it with "
            f"facecolab.modelfiles.manifest.add_to_manifest({name!r}, {str(path)!r}, source=...)"
        )
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise ValueError(
            f"{path}: sha256 {actual} does not match the manifest's "
            f"{entry['sha256']}; the file is corrupt or was replaced — delete "
            f"it and {_how_to_get(name, entry, path)}"
        )
    return path


def entry_config(name: str, entry: dict) -> dict:
    """The training config of shipped model ``name``: embedded in its manifest ``entry``,
    else the shipped config its ``source`` names ("train with configs/X.json"), else the
    shipped config of its own name; ``{}`` when none is found."""
    config = entry.get("config")
    if config is not None:
        return config
    named = re.search(r"configs/([\w.-]+\.json)", entry.get("source", ""))
    try:
        return load_config(config_file(named.group(1) if named else f"{name}.json"))
    except (FileNotFoundError, ValueError):
        return {}
