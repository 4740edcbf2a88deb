"""Dataset specs: class names, display colours, left/right pairs, layout and split rule.

A spec is pure data. Readers (``readers/``) know how to find files; the pipeline and metrics
only need the spec (usually read back from a prepared ``dataset.json``). The ignore label is
not a spec's: it is the label-map format's (``constants.IGNORE_INDEX``).

Left and right: one convention everywhere, the datasets' own. A left class (CelebAMask-HQ's
``l_eye``, ``l_brow``, ``l_ear``; Helen's ``le``, ``lb``; the 18-class face8 source ids) is the
SUBJECT's left, which faces the camera on the IMAGE's right (larger x). Real CelebAMask-HQ
maps mark it so (``l_eye`` right of ``r_eye`` in 726 of 773 maps of an 800-face subset), the
relabel tables keep it (``l_eye`` → ``le``), the bundled sample draws it so
(``data/sample.py``) and ``tests/test_left_right.py`` checks both. ``flip_pairs`` list
``(left id, right id)``; a horizontal flip swaps them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset's label ids mean.

    Attributes:
        name: registry name.
        class_names: names in id order (id = position).
        colours: display RGB colour per class, same order.
        flip_pairs: (left id, right id) pairs swapped by a horizontal flip.
        layout: human description of the raw on-disk layout.
        split_rule: how the raw data is split into train/val/test.
        f1_groups: ``(name, member ids)`` of the label set's grouped-F1 protocol: the members
            of a group are merged into one class before scoring (Helen: eyes, brows, nose,
            mouth, overall); empty when the label set has none.
    """

    name: str
    class_names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...] = ()
    layout: str = ""
    split_rule: str = ""
    f1_groups: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def __post_init__(self):
        if len(self.colours) != len(self.class_names):
            raise ValueError(
                f"spec {self.name!r}: {len(self.class_names)} class names but "
                f"{len(self.colours)} colours"
            )
        for group, members in self.f1_groups:
            if not members or not all(0 <= i < len(self.class_names) for i in members):
                raise ValueError(
                    f"spec {self.name!r}: F1 group {group!r} has ids {list(members)} outside "
                    f"0..{len(self.class_names) - 1}"
                )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def flip_lut(self) -> np.ndarray:
        """``uint8 (256,)`` table mapping each id to its mirror id (identity elsewhere).

        Applied to a label map after ``np.fliplr`` so a flipped left eye becomes a right eye.
        """
        lut = np.arange(256, dtype=np.uint8)
        for left, right in self.flip_pairs:
            lut[left], lut[right] = right, left
        return lut

    def palette(self) -> np.ndarray:
        """``uint8 (256, 3)`` colour table of the pictures; ids without a class (e.g. ignore)
        are grey, and a two-class set's white foreground is ``SHOWN_FOREGROUND`` (the spec's
        ``colours`` stay the files' own)."""
        table = np.full((256, 3), 128, dtype=np.uint8)
        table[: self.num_classes] = np.asarray(self.colours, dtype=np.uint8)
        if self.colours == BINARY_COLOURS:
            table[1] = SHOWN_FOREGROUND
        return table

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DatasetSpec:
        """The spec of a :meth:`to_dict` record. Records written before ``f1_groups``
        existed (they hold an ``ignore_index`` instead) get the groups of the registered spec
        with the same name and class names."""
        class_names = tuple(data["class_names"])
        if "f1_groups" in data:
            groups = tuple((str(g), tuple(int(i) for i in ids)) for g, ids in data["f1_groups"])
        else:
            registered = SPECS.get(data["name"])
            same = registered is not None and registered.class_names == class_names
            groups = registered.f1_groups if same else ()
        return cls(
            name=data["name"],
            class_names=class_names,
            colours=tuple(tuple(int(v) for v in c) for c in data["colours"]),
            flip_pairs=tuple(tuple(int(v) for v in p) for p in data.get("flip_pairs", ())),
            layout=data.get("layout", ""),
            split_rule=data.get("split_rule", ""),
            f1_groups=groups,
        )


# The two-class sets' colours: black background, white foreground, as their mask files are.
BINARY_COLOURS = ((0, 0, 0), (255, 255, 255))
# What pictures (overlays, masks, legends: ``DatasetSpec.palette``) paint a white foreground
# in: white blended over a light photo vanishes; a saturated azure shows on skin, hair and
# light or dark backgrounds alike.
SHOWN_FOREGROUND = (20, 130, 255)
PERSON_CLASSES = ("background", "person")  # the portrait label sets'

CELEBAMASK_HQ_CLASSES = (
    "background",
    "skin",
    "nose",
    "eye_g",
    "l_eye",
    "r_eye",
    "l_brow",
    "r_brow",
    "l_ear",
    "r_ear",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "ear_r",
    "neck_l",
    "neck",
    "cloth",
)

CELEBAMASK_HQ_COLOURS = (
    (0, 0, 0),
    (204, 0, 0),
    (76, 153, 0),
    (204, 204, 0),
    (51, 51, 255),
    (204, 0, 204),
    (0, 255, 255),
    (255, 204, 204),
    (102, 51, 0),
    (255, 0, 0),
    (102, 204, 0),
    (255, 255, 0),
    (0, 0, 153),
    (0, 0, 204),
    (255, 51, 153),
    (0, 204, 204),
    (0, 51, 0),
    (255, 153, 51),
    (0, 204, 0),
)

FACE8_CLASSES = ("background", "skin", "eyebrows", "eyes", "nose", "mouth", "ears", "glasses")
# The seed names its merged classes by the first original id they keep.
FACE8_SEED_IDS = (0, 1, 2, 4, 6, 7, 13, 16)

HELEN_CLASSES = ("bg", "face", "lb", "rb", "le", "re", "nose", "ulip", "imouth", "llip", "hair")
# The Helen protocol (Lin et al.): F1 of merged parts; skin (1), hair (10), background (0) out.
HELEN_F1_GROUPS = (
    ("eyes", (4, 5)),
    ("brows", (2, 3)),
    ("nose", (6,)),
    ("mouth", (7, 8, 9)),
    ("overall", (2, 3, 4, 5, 6, 7, 8, 9)),
)

SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="celeba_face",
            class_names=("background", "face"),
            colours=BINARY_COLOURS,
            layout="list files Train1000.txt / Dev200.txt / Test200.txt, each line "
            "'image_path label_path' relative to a prefix; grey masks, > 128 = face",
            split_rule="the three list files (1000 / 200 / 200)",
        ),
        DatasetSpec(
            name="celebamask_hq",
            class_names=CELEBAMASK_HQ_CLASSES,
            colours=CELEBAMASK_HQ_COLOURS,
            flip_pairs=((4, 5), (6, 7), (8, 9)),
            layout="CelebA-HQ-img/<id>.jpg (1024²); CelebAMask-HQ-mask-anno/<id // 2000>/"
            "<id:05d>_<part>.png (512², 0/255), parts painted in label order",
            split_rule="official CelebA partition via CelebA-HQ-to-CelebA-mapping.txt + "
            "list_eval_partition.txt when present, else seeded 7:2:1",
        ),
        DatasetSpec(
            name="face8",
            class_names=FACE8_CLASSES,
            colours=(
                (0, 0, 0),
                (204, 0, 0),
                (0, 255, 255),
                (51, 51, 255),
                (76, 153, 0),
                (255, 255, 0),
                (102, 51, 0),
                (204, 204, 0),
            ),
            layout="<split>/images/<stem>.jpg + <split>/masks/<stem>.png, grey ids in the "
            "18-class source order, merged to 8 classes by labels.FACE8_MERGE",
            split_rule="the train / val / test folders",
        ),
        DatasetSpec(
            name="helen",
            class_names=HELEN_CLASSES,
            colours=(
                (0, 0, 0),
                (255, 204, 153),
                (0, 153, 0),
                (0, 255, 0),
                (0, 0, 153),
                (0, 0, 255),
                (255, 255, 0),
                (204, 0, 0),
                (102, 0, 51),
                (255, 0, 0),
                (102, 51, 0),
            ),
            flip_pairs=((2, 3), (4, 5)),
            layout="<id>_image.jpg, <id>_label.png (grey ids 0-10), label_names.txt, "
            "train/test lists",
            split_rule="train / test lists (1999 / 100); val carved from train by seed",
            f1_groups=HELEN_F1_GROUPS,
        ),
        DatasetSpec(
            name="portrait",
            class_names=PERSON_CLASSES,
            colours=BINARY_COLOURS,
            layout="train|val/{data,label_1}/ pairs, masks 0/1 or 0/255",
            split_rule="the train / val folders",
        ),
        DatasetSpec(
            name="eg1800",
            class_names=PERSON_CLASSES,
            colours=BINARY_COLOURS,
            layout="EG1800 (PortraitNet): Images/, Labels/, eg1800_train.txt, eg1800_test.txt",
            split_rule="the two list files (1447 / 289)",
        ),
        DatasetSpec(
            name="ccp_fullbody",
            class_names=PERSON_CLASSES,
            colours=BINARY_COLOURS,
            layout="images/ccp_NNNN.jpg, masks/ccp_NNNN.png (0 background, 1 person)",
            split_rule="a seeded tenth of the photos is val",
        ),
        DatasetSpec(
            name="people",
            class_names=PERSON_CLASSES,
            colours=BINARY_COLOURS,
            layout="a folder holding any of portrait_shen/ (EG1800), ccp_fullbody/ and "
            "celebamask_mini/ (CelebAMask-HQ; every part counts as person)",
            split_rule="each source's own train / val split",
        ),
        DatasetSpec(
            name="lfw_parts",
            class_names=("background", "skin", "hair"),
            colours=((0, 0, 255), (0, 255, 0), (255, 0, 0)),
            layout="lfw_funneled/<Name>/<Name>_<NNNN>.jpg; parts_lfw_funneled_gt_images/"
            "<Name>_<NNNN>.ppm|png colour masks; parts_train.txt, parts_validation.txt",
            split_rule="official train (1500) / validation (500) [/ test (927)] lists",
        ),
    )
}


def get_spec(name: str) -> DatasetSpec:
    """The spec registered as ``name``; unknown names list the valid ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(SPECS)}") from None
