"""What the notebooks need on Colab: Google Drive for everything that must outlive the
runtime, a dataset archive fetched with its checksum and extracted safely, and a report of
the environment after the setup cell.

On Colab, :func:`project_dir` puts a project's samples, prepared data, runs (with their
resumable checkpoints) and results on Drive (``/content/drive/MyDrive/facecolab/<project>``)
once Drive is mounted (:func:`mount_drive`), so a disconnect loses nothing; elsewhere, or
without Drive, they go under ``outputs/<project>``.
"""

from __future__ import annotations

import os
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from facecolab.constants import VERSION
from facecolab.modelfiles.manifest import download_file

DRIVE_MOUNT = Path("/content/drive")
DRIVE_ROOT = DRIVE_MOUNT / "MyDrive" / "facecolab"
LOCAL_ROOT = Path("outputs")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab."""
    return "google.colab" in sys.modules


def mount_drive(mount_point=DRIVE_MOUNT) -> bool:
    """Mount Google Drive at ``mount_point`` on Colab (asks for permission once); elsewhere
    do nothing. Returns whether Drive's ``MyDrive`` is there afterwards."""
    mount_point = Path(mount_point)
    if on_colab() and not (mount_point / "MyDrive").is_dir():
        from google.colab import drive

        drive.mount(str(mount_point))
    return (mount_point / "MyDrive").is_dir()


def project_dir(project: str, drive_root=DRIVE_ROOT, local_root=LOCAL_ROOT) -> Path:
    """``drive_root/project`` when Drive is mounted (``drive_root``'s parent, Drive's
    ``MyDrive``, exists), else ``local_root/project``: where a notebook keeps everything."""
    drive_root = Path(drive_root)
    return (drive_root if drive_root.parent.is_dir() else Path(local_root)) / project


def _archive_stem(name: str) -> str:
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    raise ValueError(f"{name}: not an archive ({', '.join(ARCHIVE_SUFFIXES)})")


def _safe_member(name: str, archive: Path) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{archive}: refusing member {name!r} outside the extraction folder")


def extract_archive(archive, dest) -> Path:
    """Extract a ``.zip`` or tar archive into ``dest``, refusing members that would land
    outside it (absolute paths, ``..``) and, for tar files, links and special files.

    Raises:
        ValueError: an unsafe member (nothing is extracted) or not an archive.
    """
    archive, dest = Path(archive), Path(dest)
    _archive_stem(archive.name)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            for name in handle.namelist():
                _safe_member(name, archive)
            handle.extractall(dest)
        return dest
    with tarfile.open(archive) as handle:
        members = handle.getmembers()
        for member in members:
            _safe_member(member.name, archive)
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"{archive}: refusing link or special file {member.name!r}")
        handle.extractall(dest, members=members, **_tar_filter())
    return dest


def _tar_filter() -> dict:
    """``filter="data"`` where this Python has it (3.12, and 3.10.12 / 3.11.4 backports)."""
    return {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def fetch_dataset(url: str, sha256: str, dest, archive_dir=None) -> Path:
    """Download a dataset archive from ``url`` (checksum verified before it is kept:
    ``facecolab.modelfiles.manifest.download_file``), extract it safely into ``dest`` and return
    ``dest``.
    An archive already downloaded (``archive_dir``, default ``dest``'s parent) is reused.

    Raises:
        ConnectionError, FileNotFoundError: the download failed (unreachable, HTTP error).
        ValueError: checksum mismatch, or an archive member that would escape ``dest``.
    """
    dest = Path(dest)
    name = PurePosixPath(url.split("?")[0]).name
    _archive_stem(name)
    archive = Path(archive_dir or dest.parent) / name
    if not archive.is_file():
        download_file(url, archive, sha256)
    return extract_archive(archive, dest)


def environment() -> dict[str, str]:
    """Versions of facecolab, Keras, TensorFlow and Python, and the GPUs TensorFlow sees
    (``"none"`` without one): what the setup cell prints."""
    import keras
    import tensorflow as tf

    gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    return {
        "facecolab": VERSION,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "python": sys.version.split()[0],
        "gpu": ", ".join(gpus) or "none",
        "colab": str(on_colab()),
        "cwd": os.getcwd(),
    }


__all__ = [
    "DRIVE_ROOT",
    "environment",
    "extract_archive",
    "fetch_dataset",
    "mount_drive",
    "on_colab",
    "project_dir",
]
