"""One module per raw layout; ``FORMATS`` maps dataset names to their ``DatasetFormat``."""

from __future__ import annotations

from . import celeba_face, celebamask_hq, eg1800, face8, helen, lfw_parts, portrait
from .base import DatasetFormat, Item

FORMATS: dict[str, DatasetFormat] = {
    module.SPEC.name: module.FORMAT
    for module in (celeba_face, celebamask_hq, face8, helen, portrait, eg1800, lfw_parts)
}


def get_format(name: str) -> DatasetFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(FORMATS)}") from None


__all__ = ["FORMATS", "DatasetFormat", "Item", "get_format"]
