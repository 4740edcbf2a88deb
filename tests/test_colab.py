"""What the notebooks need on Colab: the data check, Drive or local work folders, dataset
archives fetched with a checksum and extracted safely, the setup cell's repository URL."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from facecolab.apps.colab import environment, extract_archive, fetch_dataset, project_dir
from facecolab.data import FORMATS
from facecolab.data.check import LAYOUTS, check_dataset, expected_layout
from facecolab.data.sample import write_sample

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dataset", sorted(FORMATS))
def test_check_dataset_counts_the_bundled_sample(dataset, tmp_path):
    root = write_sample(dataset, tmp_path / dataset, count=12, size=32)
    counts = check_dataset(dataset, root)
    assert set(counts) == set(FORMATS[dataset].splits) and min(counts.values()) >= 1
    assert expected_layout(dataset) == LAYOUTS[dataset]


@pytest.mark.parametrize(
    ("dataset", "remove", "named"),
    [
        ("celeba_face", "Test200.txt", "Test200.txt"),
        ("celebamask_hq", "CelebAMask-HQ-mask-anno", "no part masks found"),
        ("helen", "label_names.txt", "label_names.txt"),
        ("portrait", "val", "val"),
        ("eg1800", "Images", "image not found"),
        ("lfw_parts", "parts_lfw_funneled_gt_images", "parts_lfw_funneled_gt_images"),
        ("face8", "test/masks", "masks"),
    ],
)
def test_check_dataset_names_what_is_missing_and_the_layout(dataset, remove, named, tmp_path):
    root = write_sample(dataset, tmp_path / dataset, count=12, size=32)
    target = root / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(FileNotFoundError) as raised:
        check_dataset(dataset, root)
    message = str(raised.value)
    assert named in message and f"{dataset} data incomplete" in message
    assert message.endswith(LAYOUTS[dataset])


def test_check_dataset_without_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"DATA_ROOT .*nowhere: no such folder"):
        check_dataset("celebamask_hq", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown dataset"):
        expected_layout("celebamask")


def test_project_dir_on_drive_only_when_mounted(tmp_path):
    drive_root = tmp_path / "drive" / "MyDrive" / "facecolab"
    local = tmp_path / "outputs"
    assert project_dir("p1", drive_root, local) == local / "p1"
    (tmp_path / "drive" / "MyDrive").mkdir(parents=True)
    assert project_dir("p1", drive_root, local) == drive_root / "p1"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as handle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            handle.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "payload", "error"),
    [
        ("data.zip", _zip({"set/a.txt": b"a", "set/b/c.txt": b"c"}), None),
        ("data.tar.gz", _tar({"set/a.txt": b"a", "set/b/c.txt": b"c"}), None),
        ("data.zip", _zip({"../evil.txt": b"x"}), "outside the extraction folder"),
        ("data.tgz", _tar({"/tmp/evil.txt": b"x"}), "outside the extraction folder"),
        ("data.tar.gz", _tar({"set/a.txt": b"a"}, symlink="set/link"), "link or special file"),
        ("data.rar", b"whatever", "not an archive"),
    ],
)
def test_extract_archive_is_safe(name, payload, error, tmp_path):
    archive = tmp_path / name
    archive.write_bytes(payload)
    dest = tmp_path / "out"
    if error is None:
        extract_archive(archive, dest)
        assert (dest / "set" / "b" / "c.txt").read_bytes() == b"c"
    else:
        with pytest.raises(ValueError, match=error):
            extract_archive(archive, dest)
        assert not any(dest.rglob("*.txt")) and not (tmp_path / "evil.txt").exists()


def test_fetch_dataset_verifies_the_checksum_before_extracting(tmp_path):
    payload = _zip({"set/a.txt": b"a"})
    source = tmp_path / "served" / "set.zip"
    source.parent.mkdir()
    source.write_bytes(payload)
    url = source.as_uri()  # file:// URL: urllib, no network
    with pytest.raises(ValueError, match="sha256"):
        fetch_dataset(url, "0" * 64, tmp_path / "data" / "set")
    assert not (tmp_path / "data" / "set.zip").exists()
    digest = hashlib.sha256(payload).hexdigest()
    assert fetch_dataset(url, digest, tmp_path / "data" / "set") == tmp_path / "data" / "set"
    assert (tmp_path / "data" / "set" / "set" / "a.txt").read_bytes() == b"a"
    source.unlink()  # the kept archive is reused
    assert fetch_dataset(url, digest, tmp_path / "data" / "set").is_dir()


def test_environment_names_the_versions():
    report = environment()
    assert report["facecolab"] and re.match(r"\d+\.\d+", report["keras"])
    assert re.match(r"\d+\.\d+", report["tensorflow"]) and report["gpu"]


def test_setup_cell_clones_the_repository_named_in_pyproject():
    tomllib = pytest.importorskip("tomllib", reason="Python >= 3.11")
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    setup = (REPO / "notebooks" / "src" / "_setup.py").read_text()
    repository = re.search(r'^REPOSITORY = "([^"]+)"', setup, re.MULTILINE)[1]
    assert f"https://github.com/{repository}" == urls["Repository"] == urls["Homepage"]


SETUP = REPO / "notebooks" / "src" / "_setup.py"


def test_setup_cell_reports_the_environment_outside_colab(capsys):
    exec(compile(SETUP.read_text(), str(SETUP), "exec"), {"__name__": "setup_cell"})
    printed = capsys.readouterr().out
    assert "'facecolab':" in printed and "'tensorflow':" in printed and "'gpu':" in printed


@pytest.mark.parametrize(
    ("failing", "advice"),
    [("git", "set REPOSITORY to your fork"), ("pip", "rerun this cell")],
)
def test_setup_cell_stops_loudly_on_colab(failing, advice, monkeypatch, tmp_path):
    """A failed clone or install raises with the command's output and what to do."""
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    commands = []

    def fake_run(command, **options):
        commands.append(command)
        text = command if isinstance(command, str) else " ".join(command)
        failed = failing in text.split()[0] or (failing == "pip" and "pip install" in text)
        return subprocess.CompletedProcess(command, 1 if failed else 0, "", "fatal: boom\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(os, "chdir", lambda path: None)
    source = SETUP.read_text().replace('"/content/facecolab"', repr(str(tmp_path / "clone")))
    with pytest.raises(RuntimeError) as raised:
        exec(compile(source, str(SETUP), "exec"), {"__name__": "setup_cell"})
    message = str(raised.value)
    assert message.startswith("setup failed:") and "fatal: boom" in message
    assert "What to do: " in message and advice in message
    assert len(commands) == (1 if failing == "git" else 2)  # nothing runs after a failure
