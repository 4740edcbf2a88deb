"""Dataset specs, readers (one per raw layout), sample writer and preparation."""

from .readers import FORMATS, DatasetFormat, Item, get_format
from .specs import IGNORE_INDEX, SPECS, DatasetSpec, get_spec

__all__ = [
    "FORMATS",
    "IGNORE_INDEX",
    "SPECS",
    "DatasetFormat",
    "DatasetSpec",
    "Item",
    "get_format",
    "get_spec",
]
