"""Is a raw dataset where a notebook's ``DATA_ROOT`` says, in the layout its reader expects?

:func:`check_dataset` runs the dataset's own reader over every split (the readers raise
``FileNotFoundError`` naming what is missing) and decodes one label map per split, before
hours of preparation or training start; any failure is one ``FileNotFoundError`` or
``ValueError`` naming the missing or bad path, followed by the layout the reader expects
(:data:`LAYOUTS`, the same trees the notebooks' Data sections show).
"""

from __future__ import annotations

from pathlib import Path

from facecolab.data.readers import get_format

LAYOUTS: dict[str, str] = {
    "celeba_face": """\
DATA_ROOT/
  Train1000.txt  Dev200.txt  Test200.txt   one 'image_path label_path' pair per line
  <the images and grey masks they name>    paths relative to DATA_ROOT; mask > 128 = face""",
    "celebamask_hq": """\
DATA_ROOT/                                 (the unzipped CelebAMask-HQ.zip)
  CelebA-HQ-img/<id>.jpg                   30 000 photos, 1024x1024
  CelebAMask-HQ-mask-anno/<id // 2000>/<id:05d>_<part>.png   one 512x512 mask per part
  CelebA-HQ-to-CelebA-mapping.txt          optional, with CelebA's list_eval_partition.txt:
  list_eval_partition.txt                  the official split (else a seeded 70/20/10 split)""",
    "face8": """\
DATA_ROOT/
  train/images/<stem>.jpg   train/masks/<stem>.png    grey ids of the 18 source classes
  val/images/...            val/masks/...             (or validation/)
  test/images/...           test/masks/...""",
    "helen": """\
DATA_ROOT/                                 (Helen relabelled by Lin et al.)
  label_names.txt                          bg face lb rb le re nose ulip imouth llip hair
  train/<id>_image.jpg  train/<id>_label.png   1999 pairs (or train.txt listing ids,
  test/<id>_image.jpg   test/<id>_label.png    100 pairs    pairs in DATA_ROOT)""",
    "portrait": """\
DATA_ROOT/
  train/data/<stem>.jpg   train/label_1/<stem>.png   masks 0/1 or 0/255 (person = 1)
  val/data/<stem>.jpg     val/label_1/<stem>.png""",
    "eg1800": """\
DATA_ROOT/                                 (EG1800 as released with PortraitNet)
  Images/<id>.png|jpg                      1800 portraits
  Labels/<id>.png                          masks 0/1 or 0/255
  eg1800_train.txt  eg1800_test.txt        one file name per line""",
    "lfw_parts": """\
DATA_ROOT/
  lfw_funneled/<Name>/<Name>_<NNNN>.jpg              250x250 photos
  parts_lfw_funneled_gt_images/<Name>_<NNNN>.ppm     blue background, green skin, red hair
  parts_train.txt  parts_validation.txt  parts_test.txt   '<Name> <N>' per line""",
    "ccp_fullbody": """\
DATA_ROOT/                                 (Clothing Co-Parsing full-body photos)
  images/ccp_NNNN.jpg                      one standing person each, head to feet
  masks/ccp_NNNN.png                       0 background, 1 person (bystanders unlabelled)""",
    "people": """\
DATA_ROOT/                                 any of the three (the names of ../shared/data)
  portrait_shen/                           the EG1800 layout (Images/, Labels/, lists)
  ccp_fullbody/                            images/, masks/
  celebamask_mini/                         the CelebAMask-HQ layout (every part = person)""",
}


def expected_layout(dataset: str) -> str:
    """The folder tree the reader of raw dataset ``dataset`` expects (:data:`LAYOUTS`)."""
    get_format(dataset)  # unknown names list the valid ones
    return LAYOUTS[dataset]


def check_dataset(dataset: str, root, seed: int = 0, **format_options) -> dict[str, int]:
    """The item count of every split of raw dataset ``dataset`` in ``root``, after reading one
    label map per split with the dataset's reader.

    Args:
        format_options: the reader's options (a config's ``data.format_options``).

    Raises:
        FileNotFoundError: ``root``, a list, a folder or a file is missing, or a split is
            empty; the message names it and shows the expected layout.
        ValueError: a file is there but unreadable (named by the reader).
    """
    fmt = get_format(dataset)
    root = Path(root)
    layout = f"expected layout:\n{LAYOUTS[dataset]}"
    if not root.is_dir():
        raise FileNotFoundError(f"DATA_ROOT {root}: no such folder; {layout}")
    counts = {}
    for split in fmt.splits:
        try:
            items = fmt.list_items(root, split, seed=seed, **format_options)
            if not items:
                raise FileNotFoundError(f"{root}: the {split} split lists no images")
            if not items[0].image_path.is_file():
                raise FileNotFoundError(f"{items[0].image_path}: image not found")
            fmt.load_label(items[0])
        except (FileNotFoundError, ValueError) as error:
            raise type(error)(f"{dataset} data incomplete: {error}; {layout}") from None
        counts[split] = len(items)
    return counts


__all__ = ["LAYOUTS", "check_dataset", "expected_layout"]
