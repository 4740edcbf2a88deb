"""Label-map conversions shared by every reader: remap tables, colour masks, thresholds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from facecolab.constants import IGNORE_INDEX
from facecolab.data.specs import get_spec

# Project 3: the 18-class source order is not published with the seed; this order is an
# assumption (documented in the README) and the table is plain data a user may edit.
FACE8_SOURCE_CLASSES = (
    "background",
    "skin",
    "l_brow",
    "r_brow",
    "l_eye",
    "r_eye",
    "nose",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "earring",
    "l_ear",
    "r_ear",
    "neck",
    "eye_g",
    "cloth",
)
FACE8_MERGE: dict[int, int] = {
    0: 0,  # background
    1: 1,  # skin
    2: 2,
    3: 2,  # l_brow + r_brow -> eyebrows
    4: 3,
    5: 3,  # l_eye + r_eye -> eyes
    6: 4,  # nose
    7: 5,
    8: 5,
    9: 5,  # mouth + lips -> mouth
    13: 6,
    14: 6,  # l_ear + r_ear -> ears
    16: 7,  # eye_g -> glasses
}


def remap_lut(table: Mapping[int, int], unmapped: str = "background") -> np.ndarray:
    """``uint8 (256,)`` lookup table for :func:`remap`.

    Args:
        table: source id → new id.
        unmapped: where ids missing from ``table`` go: ``"background"`` (0) or ``"ignore"``
            (255). The ignore value itself always stays 255.
    """
    if unmapped not in ("background", "ignore"):
        raise ValueError(f"unmapped must be 'background' or 'ignore', got {unmapped!r}")
    fill = 0 if unmapped == "background" else IGNORE_INDEX
    lut = np.full(256, fill, dtype=np.uint8)
    lut[IGNORE_INDEX] = IGNORE_INDEX
    for source, target in table.items():
        if not (0 <= int(source) < 256 and 0 <= int(target) < 256):
            raise ValueError(f"remap table entry {source} -> {target} is outside 0..255")
        lut[int(source)] = int(target)
    return lut


def remap(label: np.ndarray, table: Mapping[int, int], unmapped: str = "background"):
    """Map every id of a ``uint8`` label map through ``table`` (one generic LUT remap)."""
    return remap_lut(table, unmapped)[np.asarray(label, dtype=np.uint8)]


def threshold(grey: np.ndarray, level: int = 128) -> np.ndarray:
    """Binary ids from a grey mask: ``> level`` → 1. Masks already 0/1 stay as they are."""
    grey = np.asarray(grey)
    if grey.ndim == 3:
        grey = grey[..., 0]
    if grey.max(initial=0) <= 1:
        return grey.astype(np.uint8)
    return (grey > level).astype(np.uint8)


def check_ids(label: np.ndarray, num_classes: int, source: str = "mask") -> np.ndarray:
    """Return ``label`` if every value is a class id or 255, else raise naming ``source``."""
    values = np.unique(label)
    bad = values[(values >= num_classes) & (values != IGNORE_INDEX)]
    if bad.size:
        raise ValueError(
            f"{source}: label values {bad.tolist()} are outside 0..{num_classes - 1} (and 255)"
        )
    return label


def _inverse(groups: Mapping[int, Sequence[int]]) -> dict[int, int]:
    """``{target: [sources]}`` → ``{source: target}`` (tables read best grouped by target)."""
    return {source: target for target, sources in groups.items() for source in sources}


@dataclass(frozen=True)
class Relabel:
    """A table from one label set's ids to another's, applied by :func:`remap`.

    Attributes:
        name: registry name (``prepare --relabel NAME``, config ``data.relabel``).
        source: spec name of the ids the table reads (the raw dataset's).
        target: spec name of the ids it writes; the prepared folder gets that spec.
        table: source id → target id, for every source id.
    """

    name: str
    source: str
    target: str
    table: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self):
        check_relabel_table(self.table, self.source, self.target, self.name)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "target": self.target,
            "table": {str(k): int(v) for k, v in sorted(self.table.items())},
        }


def check_relabel_table(table: Mapping[int, int], source: str, target: str, name: str) -> None:
    """Raise ``ValueError`` naming the id unless ``table`` maps every id of spec ``source``
    to an id of spec ``target``, and nothing else."""
    n_source, n_target = get_spec(source).num_classes, get_spec(target).num_classes
    keys = {int(k) for k in table}
    missing = sorted(set(range(n_source)) - keys)
    if missing:
        names = [get_spec(source).class_names[i] for i in missing]
        raise ValueError(
            f"relabel table {name!r}: {source} ids {missing} ({', '.join(names)}) are unmapped"
        )
    extra = sorted(keys - set(range(n_source)))
    if extra:
        raise ValueError(f"relabel table {name!r}: ids {extra} are not {source} ids")
    outside = sorted({int(v) for v in table.values()} - set(range(n_target)))
    if outside:
        raise ValueError(
            f"relabel table {name!r}: target ids {outside} are outside {target}'s 0..{n_target - 1}"
        )


# Tables from CelebAMask-HQ's 19 ids (0 background, 1 skin, 2 nose, 3 eye_g, 4 l_eye, 5 r_eye,
# 6 l_brow, 7 r_brow, 8 l_ear, 9 r_ear, 10 mouth, 11 u_lip, 12 l_lip, 13 hair, 14 hat, 15 ear_r,
# 16 neck_l, 17 neck, 18 cloth) to the label sets of projects 1, 3 and 4, so their models can be
# trained on real CelebAMask-HQ faces when their own datasets are out of reach.
RELABEL_TABLES: dict[str, Relabel] = {
    relabel.name: relabel
    for relabel in (
        # Project 1: face = skin, nose, glasses, eyes, brows, ears, mouth, lips.
        Relabel(
            "celeba_face",
            "celebamask_hq",
            "celeba_face",
            _inverse({0: (0, *range(13, 19)), 1: range(1, 13)}),
        ),
        # Project 3: background, skin, eyebrows, eyes, nose, mouth, ears, glasses.
        Relabel(
            "face8",
            "celebamask_hq",
            "face8",
            _inverse(
                {
                    0: (0, 13, 14, 15, 16, 17, 18),
                    1: (1,),
                    2: (6, 7),
                    3: (4, 5),
                    4: (2,),
                    5: (10, 11, 12),
                    6: (8, 9),
                    7: (3,),
                }
            ),
        ),
        # Project 4: Helen's bg face lb rb le re nose ulip imouth llip hair (Lin et al.).
        Relabel(
            "helen",
            "celebamask_hq",
            "helen",
            _inverse(
                {
                    0: (0, 14, 15, 16, 17, 18),
                    1: (1, 3, 8, 9),
                    2: (6,),
                    3: (7,),
                    4: (4,),
                    5: (5,),
                    6: (2,),
                    7: (11,),
                    8: (10,),
                    9: (12,),
                    10: (13,),
                }
            ),
        ),
    )
}


def get_relabel(name: str) -> Relabel:
    """The registered table ``name``; unknown names list the valid ones."""
    try:
        return RELABEL_TABLES[name]
    except KeyError:
        raise ValueError(
            f"unknown relabel table {name!r}; choose from {sorted(RELABEL_TABLES)}"
        ) from None


def label_set_name(dataset: str, relabel: str | None = None) -> str:
    """The spec name of the labels a dataset yields: ``dataset``'s own, or the target of
    relabel table ``relabel`` (a config's ``data.dataset`` + ``data.relabel``)."""
    return get_relabel(relabel).target if relabel else dataset
