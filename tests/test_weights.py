"""weights/manifest.json: checksums, download from a loopback server, how-to-get messages."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading

import pytest

from facecolab.modelfiles import manifest as weights
from facecolab.modelfiles.manifest import (
    add_to_manifest,
    model_names,
    pretrained_export,
    pretrained_path,
    read_manifest,
    sha256_file,
)

PAYLOAD = b"not really a model, but bytes with a known hash\n" * 100


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "served"``; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "model.keras").write_bytes(PAYLOAD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def write_manifest(folder, **entries):
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(entries))


def test_sha256_file_streams_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "CHUNK_BYTES", 1000)  # several chunks, last one partial
    path = tmp_path / "blob.bin"
    path.write_bytes(PAYLOAD)
    assert sha256_file(path) == hashlib.sha256(PAYLOAD).hexdigest()


def test_add_to_manifest_records_file_hash_and_info(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "manifest.json").write_text(
        json.dumps({"other": {"file": "o.keras", "sha256": "0", "source": "x"}})
    )
    path = folder / "sub" / "m.keras"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    entry = add_to_manifest(
        "m",
        path,
        weights_dir=folder,
        source="train with configs/m.json",
        dataset="lfw_parts",
        input_size=[64, 64],
    )
    manifest = read_manifest(folder)
    assert manifest["m"] == entry
    assert entry["file"] == "sub/m.keras"
    assert entry["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert entry["size_bytes"] == len(PAYLOAD)
    assert entry["input_size"] == [64, 64]
    assert "other" in manifest  # other entries kept
    assert pretrained_path("m", folder) == path


@pytest.mark.parametrize(
    "kwargs, message",
    [({}, "source"), ({"source": "x", "weights_dir": "elsewhere"}, "inside the weights folder")],
)
def test_add_to_manifest_rejects_bad_input(tmp_path, kwargs, message):
    path = tmp_path / "m.keras"
    path.write_bytes(PAYLOAD)
    if "weights_dir" in kwargs:
        kwargs["weights_dir"] = tmp_path / kwargs["weights_dir"]
    with pytest.raises(ValueError, match=message):
        add_to_manifest("m", path, **kwargs)


def test_bad_checksum_names_file_and_both_hashes(tmp_path):
    folder = tmp_path / "weights"
    write_manifest(folder, m={"file": "m.keras", "sha256": "ab" * 32, "source": "x"})
    (folder / "m.keras").write_bytes(PAYLOAD)
    with pytest.raises(ValueError) as error:
        pretrained_path("m", folder)
    text = str(error.value)
    assert "m.keras" in text and "ab" * 32 in text
    assert hashlib.sha256(PAYLOAD).hexdigest() in text


def test_missing_trained_weights_say_how_to_train(tmp_path):
    folder = tmp_path / "weights"
    write_manifest(
        folder, m={"file": "m.keras", "sha256": "0", "source": "train with configs/m.json"}
    )
    with pytest.raises(FileNotFoundError, match=r"m\.keras.*train with configs/m\.json"):
        pretrained_path("m", folder)


def test_a_recipe_without_weights_says_so_and_names_the_shipped_ones(tmp_path):
    folder = tmp_path / "weights"
    write_manifest(
        folder,
        recipe={"file": "r.keras", "sha256": None, "source": "train with configs/r.json"},
        shipped={"file": "s.keras", "sha256": "0", "source": "s"},
        detector={"file": "d.tflite", "sha256": "0", "source": "d", "kind": "face_detector"},
    )
    with pytest.raises(FileNotFoundError) as error:
        pretrained_path("recipe", folder)
    assert "'recipe' is a training recipe without published weights (shipped: shipped)" in str(
        error.value
    )
    assert "train with configs/r.json" in str(error.value)
    with pytest.raises(ValueError) as error:
        pretrained_path("other", folder)
    assert str(error.value).endswith(
        "(shipped: shipped; recipes without published weights: recipe)"
    )
    with pytest.raises(ValueError, match=r"\(did you mean 'shipped'\? shipped: shipped;"):
        pretrained_path("shiped", folder)  # a typo


def test_unpublished_weights_are_never_loaded_unverified(tmp_path):
    folder = tmp_path / "weights"
    write_manifest(folder, m={"file": "m.keras", "sha256": None, "source": "train with x"})
    (folder / "m.keras").write_bytes(PAYLOAD)
    with pytest.raises(ValueError, match=r"no checksum.*add_to_manifest\('m'"):
        pretrained_path("m", folder)


def test_shipped_manifest_entries_are_complete():
    """Every project has an entry; the files that ship match their checksums."""
    manifest = read_manifest()
    for name in model_names(manifest):
        entry = manifest[name]
        assert entry["dataset"] and entry["class_names"] and entry["input_size"], name
    for name, entry in manifest.items():
        if entry["sha256"] is not None:
            assert pretrained_path(name, download_missing=False).is_file()
    assert {"lfw_parts_unet", "p1_segnet_celeba", "p4_unet_helen"} <= set(manifest)
    assert manifest["blazeface_short_range"]["kind"] == "face_detector"


TRAINING_FIELDS = ("epochs_completed", "epochs_planned", "device", "backend", "seconds", "seed")
TTA = ", flip TTA"


def test_shipped_models_trained_here_record_their_training_as_fields():
    """Each shipped model trained by this repository's code (its entry embeds the training
    config) says how far its schedule got, where, on which backend, in how long and from
    which seed, and its validation figures with and without flip TTA, as fields a script
    can read."""
    manifest = read_manifest()
    trained = [name for name, entry in manifest.items() if entry["sha256"] and "config" in entry]
    assert len(trained) >= 8
    for name in trained:
        record = manifest[name]["training"]
        assert isinstance(record, dict), f"{name}: training is not a record of fields"
        missing = [field for field in TRAINING_FIELDS if field not in record]
        assert not missing, f"{name}: training lacks {missing}"
        assert 1 <= record["epochs_completed"] <= record["epochs_planned"], name
        assert record["seed"] == manifest[name]["config"]["seed"], name
        if record["seconds"] is None:  # only where a stage's time was lost, and it says so
            lost = [s for s in record.get("stages", []) if s.get("seconds", 0) is None]
            assert lost and all(stage.get("note") for stage in lost), name
        else:
            assert record["seconds"] > 0, name
        validation = record["validation"]
        with_tta = [key for key in validation if key.endswith(TTA)]
        assert with_tta, f"{name}: no validation figure with flip TTA"
        assert all(key[: -len(TTA)] in validation for key in with_tta), name


SHIPPED_BUDGET_MIB = 54  # the lent GPU machine takes a 64 MiB working tree


def test_shipped_files_leave_room_on_the_gpu_machine():
    """A call of the lent GPU machine takes the working tree, 64 MiB at most. A training call
    leaves weights/ behind (scripts/gpu/stage.py), but any other call (a benchmark, a check
    of the shipped models there) takes every tracked file, so the shipped weights and exports
    may not grow past this budget: make a file smaller (float16 weights, a float16 .tflite)
    before shipping another."""
    manifest = read_manifest()
    files = [pretrained_path(n, download_missing=False) for n, e in manifest.items() if e["sha256"]]
    exports = [(n, fmt) for n, e in manifest.items() for fmt in e.get("exports", {})]
    files += [pretrained_export(n, fmt) for n, fmt in exports]
    total = sum(path.stat().st_size for path in files) / 2**20
    assert total <= SHIPPED_BUDGET_MIB, f"weights/ ships {total:.1f} MiB"


def test_unknown_name_lists_known_ones(tmp_path):
    folder = tmp_path / "weights"
    write_manifest(folder, alpha={"file": "a", "sha256": "0", "source": "x"})
    with pytest.raises(ValueError, match="alpha"):
        pretrained_path("beta", folder)


def test_entry_without_required_keys_is_an_error(tmp_path):
    folder = tmp_path / "weights"
    write_manifest(folder, m={"file": "m.keras"})
    with pytest.raises(ValueError, match="sha256, source"):
        read_manifest(folder)


def test_download_when_missing(tmp_path, server):
    folder = tmp_path / "weights"
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    write_manifest(
        folder, m={"file": "m.keras", "sha256": digest, "source": f"{server}/model.keras"}
    )
    path = pretrained_path("m", folder)
    assert path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in folder.iterdir()) == ["m.keras", "manifest.json"]


def test_packaged_manifest_downloads_into_the_cache(tmp_path, server, monkeypatch):
    """An installed package's own folder may be read-only: files of the packaged manifest
    that do not ship go to the cache, and a second call finds them there."""
    package = tmp_path / "package"
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    write_manifest(
        package, m={"file": "m.keras", "sha256": digest, "source": f"{server}/model.keras"}
    )
    monkeypatch.setattr(weights, "default_weights_dir", lambda: package)
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "cache"))
    path = pretrained_path("m")
    assert path == tmp_path / "cache" / "weights" / "m.keras" and path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in package.iterdir()) == ["manifest.json"]
    assert pretrained_path("m", download_missing=False) == path
    assert weights.listed_name(path) == "m"


def test_download_disabled_says_where_to_get_it(tmp_path, server):
    folder = tmp_path / "weights"
    url = f"{server}/model.keras"
    write_manifest(folder, m={"file": "m.keras", "sha256": "0", "source": url})
    with pytest.raises(FileNotFoundError, match=url):
        pretrained_path("m", folder, download_missing=False)


@pytest.mark.parametrize(
    "file, sha256, error, message",
    [
        ("model.keras", "cd" * 32, ValueError, "cd" * 32),  # bad checksum
        ("absent.keras", "cd" * 32, FileNotFoundError, "HTTP 404"),
    ],
)
def test_failed_download_leaves_no_file(tmp_path, server, file, sha256, error, message):
    folder = tmp_path / "weights"
    write_manifest(folder, m={"file": "m.keras", "sha256": sha256, "source": f"{server}/{file}"})
    with pytest.raises(error, match=message):
        pretrained_path("m", folder)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]  # no partial file


def test_unreachable_server_is_a_connection_error(tmp_path):
    folder = tmp_path / "weights"
    # Port 9 (discard) on loopback: refused immediately, no network needed.
    write_manifest(folder, m={"file": "m.keras", "sha256": "0", "source": "http://127.0.0.1:9/m"})
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        pretrained_path("m", folder)
