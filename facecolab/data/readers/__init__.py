"""One module per raw layout; ``FORMATS`` maps dataset names to their ``DatasetFormat``."""

from __future__ import annotations

from facecolab.data.labels import get_relabel
from facecolab.data.readers import (
    ccp_fullbody,
    celeba_face,
    celebamask_hq,
    eg1800,
    face8,
    helen,
    lfw_parts,
    people,
    portrait,
)
from facecolab.data.readers.base import DatasetFormat, Item, relabelled

FORMATS: dict[str, DatasetFormat] = {
    module.SPEC.name: module.FORMAT
    for module in (
        celeba_face,
        celebamask_hq,
        face8,
        helen,
        portrait,
        eg1800,
        lfw_parts,
        ccp_fullbody,
        people,
    )
}


def get_format(name: str, relabel: str | None = None) -> DatasetFormat:
    """The format of raw dataset ``name``; with ``relabel`` (a ``labels.RELABEL_TABLES``
    name, a config's ``data.relabel``), its label maps come in that table's target ids.
    Unknown names list the valid ones."""
    try:
        fmt = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(FORMATS)}") from None
    return relabelled(fmt, get_relabel(relabel)) if relabel else fmt


__all__ = ["FORMATS", "DatasetFormat", "Item", "get_format"]
