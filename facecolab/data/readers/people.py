"""People of every framing for the portrait models: one format over several sources.

The root holds any of three folders (the names of ``../shared/data``):

* ``portrait_shen/``: Shen et al.'s portraits in the EG1800 layout (head and shoulders);
* ``ccp_fullbody/``: full-body street photos (``readers.ccp_fullbody``: ignore outside the
  labelled person's box, so unlabelled bystanders teach nothing);
* ``celebamask_mini/``: CelebAMask-HQ faces, where every one of the 18 parts is person
  (skin, hair, hat, earrings, necklace, neck and cloth belong to the person a portrait
  segmenter cuts out; only ``background`` is background).

LFW Part Labels cannot be a source: its clothes are background. Keys are prefixed with the
source (``shen-``, ``ccp-``, ``celebamask-``); each source keeps its own train / val split.
``sources`` (a ``format_options`` entry) picks which of them to read, for measuring the mix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecolab.constants import IGNORE_INDEX
from facecolab.data.readers import ccp_fullbody, celebamask_hq, eg1800
from facecolab.data.readers.base import DatasetFormat, Item
from facecolab.data.specs import get_spec

SPEC = get_spec("people")
# source → (folder under the root, key prefix, reader module)
SOURCES = {
    "portrait_shen": ("portrait_shen", "shen-", eg1800),
    "ccp_fullbody": ("ccp_fullbody", "ccp-", ccp_fullbody),
    "celebamask_mini": ("celebamask_mini", "celebamask-", celebamask_hq),
}


def list_items(root, split: str, seed: int = 0, fractions=None, sources=None) -> list[Item]:
    """Items of ``train`` or ``val`` from every source folder present under ``root`` (or
    from ``sources``, each of which must be present)."""
    root = Path(root)
    if split not in FORMAT.splits:
        raise ValueError(f"people splits are {FORMAT.splits}, got {split!r}")
    wanted = list(SOURCES) if sources is None else list(sources)
    unknown = sorted(set(wanted) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown people sources {unknown}; choose from {sorted(SOURCES)}")
    present = [name for name in wanted if (root / SOURCES[name][0]).is_dir()]
    if sources is not None and len(present) < len(wanted):
        missing = [str(root / SOURCES[name][0]) for name in wanted if name not in present]
        raise FileNotFoundError(f"people sources not found: {', '.join(missing)}")
    if not present:
        folders = ", ".join(folder for folder, _, _ in SOURCES.values())
        raise FileNotFoundError(f"{root}: none of the people sources ({folders}) is there")
    items = []
    for name in present:
        folder, prefix, reader = SOURCES[name]
        kept = reader.list_items(root / folder, split, seed=seed, fractions=_fractions(name))
        items += [Item(prefix + item.key, item.image_path, item.label_paths) for item in kept]
    return items


def _fractions(source: str):
    # CelebAMask-HQ without CelebA's partition files splits 7:2:1 by seed, like prepare does.
    return (0.7, 0.2, 0.1) if source == "celebamask_mini" else None


def load_label(item: Item) -> np.ndarray:
    """``uint8 (H, W)``: 0 background, 1 person, 255 ignore."""
    for _, prefix, reader in SOURCES.values():
        if item.key.startswith(prefix):
            label = reader.load_label(item)
            if reader is celebamask_hq:
                return np.where(label == IGNORE_INDEX, IGNORE_INDEX, label > 0).astype(np.uint8)
            return label
    raise ValueError(f"{item.image_path}: key {item.key!r} names no people source")


FORMAT = DatasetFormat(SPEC, ("train", "val"), list_items, load_label)
