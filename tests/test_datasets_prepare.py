"""prepare(): layout, resume, atomic writes, bad-item reports; the data_prep command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecolab.data import get_format, get_spec
from facecolab.data import prepare as prepare_module
from facecolab.data.prepare import PrepareOptions, dataset_spec, prepare
from facecolab.data.readers import face8
from facecolab.data.sample import write_sample
from facecolab.fsutil import atomic_write_bytes

REPO = Path(__file__).resolve().parents[1]
COUNT, SIZE = 10, 48
OUT_SIZE = (32, 32)


def _prepare(dataset, root, out, workers=1, strict=False, **options):
    options = PrepareOptions(**{"size": OUT_SIZE} | options)
    return prepare(dataset, root, out, options, workers=workers, strict=strict, progress=False)


@pytest.fixture
def raw(tmp_path):
    """``write(name) -> root`` of a fresh sample in this test's folder."""
    return lambda name, count=COUNT: write_sample(name, tmp_path / f"raw_{name}", count, SIZE, 0)


def _outputs(out: Path):
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["celebamask_hq", "helen", "face8", "lfw_parts"])
@pytest.mark.parametrize("aspect", ["stretch", "letterbox"])
def test_prepare_writes_the_prepared_layout(raw, tmp_path, name, aspect):
    out = tmp_path / "out"
    summary = _prepare(name, raw(name), out, aspect=aspect)
    info = json.loads((out / "dataset.json").read_text())
    spec = get_format(name).spec
    assert summary.written == COUNT and summary.skipped == 0 and not summary.bad
    assert info["counts"] == summary.counts and sum(info["counts"].values()) == COUNT
    assert info["spec"]["class_names"] == list(spec.class_names)
    assert (info["size"], info["aspect"]) == (list(OUT_SIZE), aspect)
    assert sum(info["class_pixels"].values()) == COUNT * OUT_SIZE[0] * OUT_SIZE[1]
    assert ("ignore" in info["class_pixels"]) == (aspect == "letterbox" and name == "face8")
    for split, count in summary.counts.items():
        keys = (out / "splits" / f"{split}.txt").read_text().split()
        assert len(keys) == count
        for key in keys:
            image = np.asarray(Image.open(out / "images" / f"{key}.jpg"))
            label = np.asarray(Image.open(out / "labels" / f"{key}.png"))
            assert image.shape == (*OUT_SIZE, 3) and label.shape == OUT_SIZE
            assert label.dtype == np.uint8
            assert set(np.unique(label).tolist()) <= set(range(spec.num_classes)) | {255}
    assert not list(out.rglob("*.tmp"))


def test_parallel_prepare_matches_serial(raw, tmp_path):
    root = raw("celebamask_hq")
    _prepare("celebamask_hq", root, tmp_path / "one")
    _prepare("celebamask_hq", root, tmp_path / "two", workers=2)
    assert _outputs(tmp_path / "one") == _outputs(tmp_path / "two")
    for path in _outputs(tmp_path / "one"):
        if path.suffix == ".png":
            assert (tmp_path / "one" / path).read_bytes() == (tmp_path / "two" / path).read_bytes()


def test_rerun_skips_done_items_and_redoes_missing_ones(raw, tmp_path):
    root, out = raw("portrait"), tmp_path / "out"
    _prepare("portrait", root, out)
    stamps = {p: (out / p).stat().st_mtime_ns for p in _outputs(out) if p.parts[0] == "images"}
    first_key = (out / "splits" / "train.txt").read_text().split()[0]
    (out / "labels" / f"{first_key}.png").unlink()  # as if killed between the two writes
    stale = out / "images" / f".{first_key}.jpg.abc123.tmp"
    stale.write_bytes(b"half a jpeg")  # as if killed mid-write
    summary = _prepare("portrait", root, out)
    assert (summary.written, summary.skipped) == (1, COUNT - 1)
    assert not stale.exists() and (out / "labels" / f"{first_key}.png").exists()
    for path, stamp in stamps.items():
        if path.stem != first_key:
            assert (out / path).stat().st_mtime_ns == stamp
    assert json.loads((out / "dataset.json").read_text())["counts"] == summary.counts


def test_interrupted_run_loses_nothing(raw, tmp_path, monkeypatch):
    root, out = raw("eg1800"), tmp_path / "out"
    real_process, calls = prepare_module._process, []

    def dies_after_four(job):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(job.item.key)
        return real_process(job)

    monkeypatch.setattr(prepare_module, "_process", dies_after_four)
    with pytest.raises(KeyboardInterrupt):
        _prepare("eg1800", root, out)
    monkeypatch.setattr(prepare_module, "_process", real_process)
    assert len(list((out / "labels").glob("*.png"))) == 4
    summary = _prepare("eg1800", root, out)
    assert (summary.written, summary.skipped) == (COUNT - 4, 4)
    assert sum(summary.counts.values()) == COUNT


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "labels" / "a.png"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["a.png"]


def test_atomic_write_gives_normal_permissions(tmp_path):
    """Prepared files must be readable by others (mkstemp alone would leave them 0600)."""
    mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.png", b"x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o644


def test_prepare_refuses_a_folder_prepared_with_other_settings(raw, tmp_path):
    root, out = raw("helen"), tmp_path / "out"
    _prepare("helen", root, out)
    with pytest.raises(ValueError, match="dataset.json.*size"):
        _prepare("helen", root, out, size=(16, 16))


def test_a_folder_prepared_by_an_older_version_is_resumed(raw, tmp_path):
    """Records written before specs held ``f1_groups`` (they held ``ignore_index: 255``)
    describe the same class table: a rerun resumes, and the folder keeps Helen's groups."""
    root, out = raw("helen"), tmp_path / "out"
    _prepare("helen", root, out)
    record = json.loads((out / "dataset.json").read_text())
    del record["spec"]["f1_groups"]
    record["spec"]["ignore_index"] = 255
    (out / "dataset.json").write_text(json.dumps(record))
    assert _prepare("helen", root, out).skipped == COUNT
    assert dataset_spec(out).f1_groups == get_spec("helen").f1_groups


def _corrupt_image(root, item, fmt):
    item.image_path.write_bytes(b"this is not a jpeg")
    return item.image_path, "cannot read image"


def _missing_mask(root, item, fmt):
    item.label_paths[0].unlink()
    return item.label_paths[0], "No such file"


def _size_mismatch(root, item, fmt):
    Image.fromarray(np.zeros((SIZE, SIZE // 2), np.uint8)).save(item.label_paths[0])
    return item.label_paths[0], "does not match image"


def _unknown_value(root, item, fmt):
    mask = np.asarray(Image.open(item.label_paths[0])).copy()
    mask[0, 0] = 20
    Image.fromarray(mask).save(item.label_paths[0])
    return item.label_paths[0], "[20]"


def _unknown_colour(root, item, fmt):
    mask = np.asarray(Image.open(item.label_paths[0]).convert("RGB")).copy()
    mask[:2, :2] = (255, 0, 255)
    Image.fromarray(mask).save(item.label_paths[0])
    return item.label_paths[0], "colours outside the label set"


def _no_parts(root, item, fmt):
    for path in item.label_paths[0].glob(f"{item.key}_*.png"):
        path.unlink()
    return item.label_paths[0], "no part masks"


BAD_CASES = [
    ("celeba_face", _corrupt_image),
    ("portrait", _missing_mask),
    ("helen", _size_mismatch),
    ("helen", _unknown_value),
    ("face8", _unknown_value),
    ("lfw_parts", _unknown_colour),
    ("celebamask_hq", _no_parts),
]


@pytest.mark.parametrize(("name", "corrupt"), BAD_CASES, ids=lambda v: getattr(v, "__name__", v))
def test_bad_items_are_reported_by_file_and_reason(raw, tmp_path, name, corrupt):
    root = raw(name)
    fmt = get_format(name)
    item = fmt.list_items(root, "train")[1]
    path, reason = corrupt(root, item, fmt)
    summary = _prepare(name, root, tmp_path / "out")
    assert [key for key, _, _ in summary.bad] == [item.key]
    _, file, message = summary.bad[0]
    assert Path(file).name.startswith(Path(path).name) or str(path) in file, (file, path)
    assert reason in message
    assert sum(summary.counts.values()) == COUNT - 1
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["bad_items"][0]["key"] == item.key
    assert item.key not in (tmp_path / "out" / "splits" / "train.txt").read_text().split()
    with pytest.raises(ValueError, match=item.key):
        _prepare(name, root, tmp_path / "strict", strict=True)


def test_bad_label_names_stop_preparation(raw, tmp_path):
    root = raw("helen")
    (root / "label_names.txt").write_text("bg face lb rb le re nose ulip imouth llip\n")
    with pytest.raises(ValueError, match="label_names.txt.*10 names instead of 11"):
        _prepare("helen", root, tmp_path / "out")


def test_missing_layout_is_explained(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(FileNotFoundError, match="no eg1800 items.*eg1800_train.txt"):
        _prepare("eg1800", tmp_path / "raw", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        _prepare("eg1800", tmp_path / "nowhere", tmp_path / "out")


def test_prepare_passes_format_options_to_the_reader(raw, tmp_path):
    root = raw("celeba_face")
    lists = tmp_path / "lists"
    lists.mkdir()
    for name in ("Train1000.txt", "Dev200.txt"):
        (lists / name).write_text((root / name).read_text())
    (lists / "my_test.txt").write_text((root / "Test200.txt").read_text())
    options = {"img_prefix": str(root), "label_prefix": str(root), "test_file": "my_test.txt"}
    summary = _prepare("celeba_face", lists, tmp_path / "out", format_options=options)
    assert sum(summary.counts.values()) == COUNT and not summary.bad
    with pytest.raises(ValueError, match="bad format options"):
        _prepare("celeba_face", lists, tmp_path / "out2", format_options={"merge": 1})


def test_prepare_with_a_custom_face8_table(raw, tmp_path):
    fmt = face8.build_format({10: 1}, ("background", "hair"), unmapped="background")
    summary = _prepare(fmt, raw("face8"), tmp_path / "out")
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["spec"]["class_names"] == ["background", "hair"]
    assert info["class_pixels"]["hair"] > 0 and sum(summary.counts.values()) == COUNT


# ---------------------------------------------------------------- command line


def _run_cli(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH="")
    return subprocess.run(
        [sys.executable, str(REPO / "data_prep" / "load_data.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_load_data_script_end_to_end(tmp_path):
    args = [
        "--dataset",
        "celebamask_hq",
        "--root",
        "raw",
        "--out",
        "prepared",
        "--size",
        "32",
        "--sample",
        "8",
        "--sample-size",
        "48",
        "--workers",
        "2",
        "--no-progress",
    ]
    result = _run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "written 8" in result.stdout
    info = json.loads((tmp_path / "prepared" / "dataset.json").read_text())
    assert sum(info["counts"].values()) == 8 and info["size"] == [32, 32]
    again = _run_cli(*args[:8], "--no-progress", cwd=tmp_path)
    assert again.returncode == 0 and "skipped (already done) 8" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "helen", "--root", "nowhere", "--out", "o"], "root folder not found"),
        (["--dataset", "lfw_parts", "--root", ".", "--out", "o"], "no lfw_parts items"),
    ],
)
def test_load_data_script_fails_with_one_line(tmp_path, args, message):
    result = _run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error:") and message in result.stderr


def test_load_data_script_usage_errors(tmp_path):
    result = _run_cli(
        "--dataset", "helen", "--root", ".", "--out", "o", "--split", "0.5,0.5", cwd=tmp_path
    )
    assert result.returncode == 2 and "summing to 1" in result.stderr


def test_a_rerun_names_the_same_root_relatively_or_absolutely(raw, tmp_path, monkeypatch):
    root = raw("helen")
    monkeypatch.chdir(root.parent)
    _prepare("helen", Path(root.name), tmp_path / "out")
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    info["root"] = root.name  # as an earlier version recorded it: as given, relative
    (tmp_path / "out" / "dataset.json").write_text(json.dumps(info))
    summary = _prepare("helen", root.resolve(), tmp_path / "out")
    assert summary.written == 0 and summary.skipped == COUNT
