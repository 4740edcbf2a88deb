"""Dataset specs, readers (one per raw layout), sample writer and preparation."""

from .readers import FORMATS, DatasetFormat, Item, get_format
from .specs import SPECS, DatasetSpec, get_spec

__all__ = [
    "FORMATS",
    "SPECS",
    "DatasetFormat",
    "DatasetSpec",
    "Item",
    "get_format",
    "get_spec",
]
