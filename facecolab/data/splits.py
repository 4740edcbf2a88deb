"""Split lists of a prepared folder: ``OUT/splits/<split>.txt``, one key per line.

A key is a file stem, and a legal file name may hold spaces, tabs, newlines, ``%`` or bytes
that are not UTF-8. So a line is the key's file-system bytes with everything outside
printable ASCII (and ``%`` itself) written as ``%XX``: a line never holds a line break, plain
names (``00017``, ``train_a b``) read as they are, and reading gives back the exact key.
Lines are split on line breaks only, never on other whitespace.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote_to_bytes

SPLIT_SUFFIX = ".txt"
# Printable ASCII except "%" (the escape character) is written as is.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def check_split_name(split: str) -> str:
    """``split`` if it can name a split list (``train``, ``val``, ...); a path such as
    ``../x`` is a ``ValueError``: it would read or write outside the prepared folder."""
    if not split or "/" in split or "\x00" in split or split.startswith("."):
        raise ValueError(f"split must be a name such as train, val or test, got {split!r}")
    return split


def encode_key(key: str) -> str:
    """One split-list line (without the line break) for ``key``."""
    return quote_from_bytes(os.fsencode(key), safe=_SAFE)


def decode_key(line: str) -> str:
    """The key of one split-list line (inverse of :func:`encode_key`)."""
    return os.fsdecode(unquote_to_bytes(line))


def split_list_bytes(keys) -> bytes:
    """The content of a split list holding ``keys`` in order."""
    return "".join(encode_key(key) + "\n" for key in keys).encode("ascii")


def read_split_list(path) -> list[str]:
    """The keys of split list ``path``, in order; empty lines are skipped and a trailing
    ``\\r`` (a list edited on Windows) is dropped (keys never end in one: it is escaped).

    Raises:
        ValueError: a line holds a path rather than a key (:func:`check_key`), named by line.
    """
    text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    keys = []
    for line_no, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if line:
            keys.append(check_key(decode_key(line), f"{path}:{line_no}"))
    return keys


def check_key(key: str, where: str) -> str:
    """``key`` if it is a file stem; a path (``../x``, ``/etc/x``), an empty name or a hidden
    one is a ``ValueError`` naming ``where`` (the list and line): keys are never paths."""
    if "/" in key or "\x00" in key or key.startswith("."):
        raise ValueError(
            f"{where}: key {key!r} is not a file name (a path, or starting with '.'); "
            "split lists hold item keys, never paths"
        )
    return key
