"""The file-system contracts every writer and every path taken from a file share.

* :func:`contained` — a path read from a manifest, list or archive must stay inside its base
  folder (no ``..``, no absolute path, no symlink out).
* :func:`output_folder` — the one check and lock before anything is written into a folder:
  it must be (or become) a writable folder, and only one facecolab process writes into it at
  a time (``flock`` on ``FOLDER/.facecolab.lock``, released at exit, even after ``kill -9``).
* :func:`output_file` — the same check for a single output file's place.
* :func:`atomic_path` / :func:`atomic_write_bytes` — temporary file in the same folder +
  rename, so an output is whole or absent; the temporary file is removed on any exit
  (SIGTERM included while a folder is held; after ``kill -9`` the next holder removes it).
* :func:`check_outputs` — the output policy (docs/DESIGN.md, "Outputs and inputs: the
  policy"): an output is never an input nor in a folder the command reads, and a file the
  command did not write is never replaced without ``overwrite``. Files a command wrote are
  listed, with their sha256, in ``FOLDER/.facecolab-written``.
* :func:`read_json` — a JSON file, or one line saying which file is not valid JSON.

Writing failures raise :class:`OutputError` (an ``OSError``) whose message names the output and
the reason, so they are never mistaken for bad input. numpy/TensorFlow-free.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

LOCK_NAME = ".facecolab.lock"
RECORD_NAME = ".facecolab-written"
# atomic_path's temporary names: ".<name>.<8 random>.tmp", plus the suffix Keras needs.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.keras|\.h5|\.weights\.h5)?$")
# Output folders and files held by a command in this process: resolved path → (command,
# overwrite). Filled and emptied by output_folder / output_file's ``with`` block only.
_HELD: dict[Path, tuple[str, bool]] = {}


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


def read_json(path, what: str | None = None):
    """The JSON value in file ``path``.

    Raises:
        FileNotFoundError: no such file (callers that expect one say how to make it).
        ValueError: the file is not valid JSON (or not UTF-8); the message names it and
            ``what`` it is.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        usable = f", so not a usable {what}" if what else ""
        raise ValueError(f"{path}: not valid JSON{usable} ({error})") from None


def _resolved(path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record_lines(folder: Path) -> dict[str, tuple[str, str]]:
    """``{name: (command, sha256)}`` of ``folder``'s record (the last entry per name wins)."""
    try:
        text = (folder / RECORD_NAME).read_text(encoding="ascii", errors="replace")
    except OSError:
        return {}
    entries = {}
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 3:
            entries[unquote(parts[2])] = (parts[1], parts[0])
    return entries


def written_by(path, command: str) -> bool:
    """Whether file ``path`` is, byte for byte, what facecolab ``command`` wrote there."""
    path = _resolved(path)
    entry = _record_lines(path.parent).get(path.name)
    return entry is not None and entry[0] == command and entry[1] == sha256_file(path)


def _record(path: Path, command: str) -> None:
    line = f"{sha256_file(path)} {quote(command, safe='')} {quote(path.name, safe='')}\n"
    # No record (an unwritable folder): the file only counts as not ours.
    with contextlib.suppress(OSError), open(path.parent / RECORD_NAME, "a") as handle:
        handle.write(line)


def check_outputs(outputs=(), inputs=(), *, overwrite=False, command="facecolab", folders=()):
    """The output policy, checked before the first byte is written: an output folder is never
    a folder whose files the command reads, an output file never a file it reads, and a file
    the command did not write is never replaced without ``overwrite``.

    Args:
        outputs: the files the command will write (each may sit beside an input; its folder
            is checked only when it is in ``folders``).
        inputs: the files and folders it reads (a folder: the files in it). Paths are
            resolved, symbolic links followed; missing ones are left to the reader.
        overwrite: replace existing output files the command did not write.
        command: the command's name, as the record (``FOLDER/.facecolab-written``) says who
            wrote a file.
        folders: output folders whose file names are not known yet (frames, a SavedModel).

    Raises:
        OutputError: an output is an input, lies in a folder the command reads (a new
            subfolder is fine), is a folder, or is a file this command did not write (without
            ``overwrite``); the message names the output, the input and what to do.
    """
    read_files, read_folders, listed = {}, {}, {}  # listed: folders given, every file read
    for given in inputs:
        path = _resolved(given)
        if path.is_dir():
            read_folders.setdefault(path, given)
            listed.setdefault(path, given)
        elif path.exists():
            read_files.setdefault(path, given)
            read_folders.setdefault(path.parent, given)
    for given in folders:
        path = _resolved(given)
        if path in read_files:
            raise OutputError(f"{given}: output folder is an input file of {command}")
        if path in read_folders:
            raise OutputError(
                f"{given}: output folder holds {command}'s input ({read_folders[path]}); "
                "choose another output folder (a new subfolder is fine)"
            )
    for given in outputs:
        path = _resolved(given)
        if path in read_files or (path.parent in listed and path.is_file()):
            source = read_files.get(path) or listed[path.parent]
            raise OutputError(
                f"{given}: output file is an input of {command} ({source}); choose another output"
            )
        if path.is_dir():
            raise OutputError(f"{given}: output file is a folder")
        if path.exists() and not overwrite and not written_by(path, command):
            raise OutputError(
                f"{given}: exists and was not written by facecolab {command}; pass "
                "--overwrite to replace it, or choose another output"
            )


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


def output_file(path, inputs=(), *, overwrite=False, command=None) -> Path:
    """``path`` after checking it can be written: not a folder, in a writable folder, and
    (with ``command``) the policy of :func:`check_outputs` against ``inputs``.

    Raises:
        OutputError: naming ``path`` or its folder and the problem.
    """
    path = Path(path)
    if command is not None:
        check_outputs([path], inputs, overwrite=overwrite, command=command)
    if path.is_dir():
        raise OutputError(f"{path}: output file is a folder")
    _check_folder(path.parent)
    return path


@contextlib.contextmanager
def held_output_file(path, inputs=(), *, overwrite=False, command: str) -> Iterator[Path]:
    """:func:`output_file`, and for the ``with`` block its atomic write is recorded as
    ``command``'s (so a rerun may replace it) and SIGTERM ends the process cleanly."""
    path = output_file(path, inputs, overwrite=overwrite, command=command)
    with _held([path], command, overwrite):
        yield path


@contextlib.contextmanager
def output_folder(
    folder, subfolders=(), *, command=None, inputs=(), outputs=(), overwrite=False
) -> Iterator[Path]:
    """Check and lock ``folder`` (created if missing) for the ``with`` block.

    Args:
        subfolders: names inside ``folder`` that must be writable folders too (created).
        command: apply the output policy (:func:`check_outputs`) as this command: the folders
            must not hold ``inputs``, the ``outputs`` (names relative to ``folder``) are
            checked before anything is written, and every atomic write inside the folders
            refuses to replace a file ``command`` did not write (without ``overwrite``) and
            is recorded. ``None``: the caller keeps its own record (prepare, train).

    Yields:
        ``folder`` as a ``Path``. Folders this call created and that are still empty at the
        end (the work failed before writing) are removed again; temporary files a killed
        run left are removed on entry, and SIGTERM ends the block like Ctrl-C.

    Raises:
        OutputError: ``folder`` (or a subfolder) is a file, cannot be created or written, is
            refused by the policy, or another facecolab process holds its lock (the message
            gives that process id).
    """
    folder = Path(folder)
    paths = [folder, *(folder / name for name in subfolders)]
    if command is not None:
        check_outputs(
            [folder / name for name in outputs],
            inputs,
            overwrite=overwrite,
            command=command,
            folders=paths,
        )
    created = [path for path in paths if not path.exists()]
    try:
        for path in paths:
            _check_folder(path)
        with _lock(folder / LOCK_NAME, folder):
            for path in paths:
                remove_stale_temporaries(path)
            if command is None:
                with _terminate_as_interrupt():
                    yield folder
            else:
                with _held(paths, command, overwrite):
                    yield folder
    finally:
        for path in reversed(created):
            with contextlib.suppress(OSError):  # not empty (or gone): keep it
                path.rmdir()


@contextlib.contextmanager
def _held(paths, command: str, overwrite: bool) -> Iterator[None]:
    keys = [_resolved(path) for path in paths]
    for key in keys:
        _HELD[key] = (command, overwrite)
    try:
        with _terminate_as_interrupt():
            yield
    finally:
        for key in keys:
            _HELD.pop(key, None)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``SystemExit(143)`` in the block (main thread only), so ``finally``
    blocks remove temporary files and release locks as they do on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def remove_stale_temporaries(folder) -> None:
    """Delete the temporary files (:data:`TEMP_NAME`) a killed writer left in ``folder``;
    call it only while holding the folder's lock (no other writer is there)."""
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.iterdir():
            if TEMP_NAME.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)


def _holder(path: Path) -> tuple[str, bool] | None:
    """The policy of a held output ``path`` (itself held, or its folder)."""
    path = _resolved(path)
    return _HELD.get(path) or _HELD.get(path.parent)


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
            if holder.isdigit() and not _alive(int(holder)):
                holder += ", no longer running: a process it started still holds the lock"
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, keep_suffix: bool = False) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write; renamed to ``path`` when the block
    ends normally, removed on any other exit (an error, Ctrl-C, SIGTERM in a held folder).

    In a folder a command holds (:func:`output_folder`), an existing ``path`` the command did
    not write is refused (without ``overwrite``) and the new file is recorded as its.
    ``keep_suffix``: the temporary name ends with ``path``'s suffix (writers that pick the
    format from it, e.g. Keras). The file gets the usual permissions (0666 less the umask).

    Raises:
        OutputError: naming ``path`` and the reason (disk full, not writable, not ours, ...);
            the old file, if any, is left as it was and no temporary file remains.
    """
    path = Path(path)
    held = _holder(path)
    if held is not None and path.exists() and not held[1] and not written_by(path, held[0]):
        raise OutputError(
            f"{path}: exists and was not written by facecolab {held[0]}; pass --overwrite "
            "to replace it, or choose another output"
        )
    suffix = ".tmp"
    if keep_suffix:
        suffix += ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        os.close(fd)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({describe(error)})") from None
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({describe(error)})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if held is not None:
        _record(path, held[0])


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`.

    Raises:
        OutputError: naming ``path`` and the reason (disk full, not writable, ...); the old
            file, if any, is left as it was and no temporary file remains.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
