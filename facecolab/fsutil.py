"""The file-system contracts every writer and every path taken from a file share.

* :func:`contained` — a path read from a manifest, list or archive must stay inside its base
  folder (no ``..``, no absolute path, no symlink out).
* :func:`output_folder` — the one check and lock before anything is written into a folder:
  it must be (or become) a writable folder, and only one facecolab process writes into it at
  a time (``flock`` on ``FOLDER/.facecolab.lock``, released at exit, even after ``kill -9``).
* :func:`output_file` — the same check for a single output file's place.
* :func:`atomic_write_bytes` — temporary file + rename, so an output is whole or absent.
* :func:`read_json` — a JSON file, or one line saying which file is not valid JSON.

Writing failures raise :class:`OutputError` (an ``OSError``) whose message names the output and
the reason, so they are never mistaken for bad input. numpy/TensorFlow-free.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".facecolab.lock"


class OutputError(OSError):
    """An output could not be written; the message names the output and the reason."""


def describe(error: Exception) -> str:
    """One line for an error: ``"file: reason"`` for an OS error that names its file (its
    ``str`` says ``[Errno N] reason: 'file'``), else the message."""
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or 'cannot be used'}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def contained(base, relative, what: str) -> Path:
    """``base / relative``, refused unless it resolves inside ``base``.

    Args:
        base: the folder the path must stay in (e.g. ``weights/``).
        relative: the path as written in a manifest, list or archive.
        what: what the path is, for the message (e.g. ``"manifest entry 'x' file"``).

    Raises:
        ValueError: ``relative`` is empty, absolute, or escapes ``base`` through ``..`` or a
            symbolic link; the message names both.
    """
    text = str(relative)
    if not text or "\x00" in text or Path(text).is_absolute():
        raise ValueError(f"{what} {text!r} must be a relative path inside {base}")
    base = Path(base)
    path = base / text
    try:
        path.resolve().relative_to(base.resolve())
    except ValueError:
        raise ValueError(f"{what} {text!r} points outside {base}") from None
    return path


def read_json(path):
    """The JSON value in file ``path``.

    Raises:
        FileNotFoundError: no such file (callers that expect one say how to make it).
        ValueError: the file is not valid JSON (or not UTF-8); the message names it.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def input_folder(path, what: str) -> Path:
    """``path`` if it is a folder, else an error that says what is wrong with it.

    Raises:
        FileNotFoundError: nothing is there.
        NotADirectoryError: a file, or a symbolic link that leads nowhere (dangling or a
            loop), is there.
    """
    path = Path(path)
    if path.is_dir():
        return path
    if path.is_symlink():
        raise NotADirectoryError(
            f"{path}: {what} is a symbolic link that leads to no folder (dangling or a loop)"
        )
    if path.exists():
        raise NotADirectoryError(f"{path}: {what} is not a folder")
    raise FileNotFoundError(f"{path}: {what} not found")


def _check_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: output folder exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{folder}: cannot create output folder ({describe(error)})") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = error.strerror or describe(error)
        raise OutputError(f"{folder}: output folder is not writable ({reason})") from None


def output_file(path) -> Path:
    """``path`` after checking it can be written: not a folder, in a writable folder.

    Raises:
        OutputError: naming ``path`` or its folder and the problem.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: output file is a folder")
    _check_folder(path.parent)
    return path


@contextlib.contextmanager
def output_folder(folder, subfolders=()) -> Iterator[Path]:
    """Check and lock ``folder`` (created if missing) for the ``with`` block.

    Args:
        subfolders: names inside ``folder`` that must be writable folders too (created).

    Yields:
        ``folder`` as a ``Path``. Folders this call created and that are still empty at the
        end (the work failed before writing) are removed again.

    Raises:
        OutputError: ``folder`` (or a subfolder) is a file, cannot be created or written, or
            another facecolab process holds its lock (the message gives that process id).
    """
    folder = Path(folder)
    paths = [folder, *(folder / name for name in subfolders)]
    created = [path for path in paths if not path.exists()]
    try:
        for path in paths:
            _check_folder(path)
        with _lock(folder / LOCK_NAME, folder):
            yield folder
    finally:
        for path in reversed(created):
            with contextlib.suppress(OSError):  # not empty (or gone): keep it
                path.rmdir()


@contextlib.contextmanager
def _lock(path: Path, folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``; the file is removed on release. A racing opener
    of a file just removed re-checks the inode, so two holders never coexist."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise OutputError(f"{path}: cannot lock ({describe(error)})") from None
            raise OutputError(
                f"{folder}: in use by another facecolab process (pid {holder}); wait for it "
                "to finish or use another folder"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder + rename.

    The file gets the usual permissions (0666 less the umask), not mkstemp's private 0600.

    Raises:
        OutputError: naming ``path`` and the reason (disk full, not writable, ...); the old
            file, if any, is left as it was and no temporary file remains.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({describe(error)})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({describe(error)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
