"""The main job on a fresh machine, end to end, in about two minutes on a CPU.

1. Write the bundled CelebAMask-HQ sample (procedurally drawn faces, the real on-disk layout),
   prepare it, and train project 2's U-Net config on it briefly — the same code path as a
   real run, at a tiny size.
2. Load the shipped LFW Part Labels model (``weights/``), parse a real face photo that ships
   with scikit-image (NASA's public-domain astronaut portrait) and save the overlay.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from .apps.photo import framing_of, parse_photo
from .apps.recolour import part_class_ids, recolour
from .datasets.specs import get_spec
from .export import load_pretrained, open_model
from .metrics import format_table
from .sample_mode import project_config
from .train import train
from .viz import overlay
from .weights import read_manifest

SAMPLE_CONFIG = "p2_unet_celebamask_hq.json"  # a shipped config (facecolab.config.config_file)


def train_on_sample(out_dir: Path, count: int = 160, size: int = 64, epochs: int = 8) -> dict:
    """Prepare the CelebAMask-HQ sample and train project 2's config on it briefly.

    A run this short needs two changes to the full-size settings: batch-norm statistics that
    follow the weights quickly (momentum 0.9, else inference mode predicts from stale moving
    averages) and a larger learning rate.
    """
    config = project_config(
        SAMPLE_CONFIG,
        None,
        out_dir,
        epochs=epochs,
        image_size=size,
        batch_size=8,
        sample_count=count,
        sample_size=128,
        overrides=["model.options.bn_momentum=0.9", "optimizer.learning_rate=0.003"],
    )
    return train(config, out_dir / "run", verbose=2)


def parse_astronaut(out_dir: Path, weights_name: str = "lfw_parts_unet") -> Path:
    """Parse scikit-image's astronaut photo with a shipped model; returns the overlay PNG."""
    from skimage import data

    model = load_pretrained(weights_name)
    spec = get_spec(read_manifest()[weights_name]["dataset"])
    photo = data.astronaut()
    label, _ = parse_photo(model, photo)
    out_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(label).save(out_dir / "astronaut_label.png")
    path = out_dir / "astronaut_overlay.png"
    side_by_side = np.concatenate([photo, overlay(photo, label, spec.palette(), 0.45)], axis=1)
    Image.fromarray(side_by_side).save(path)
    shares = np.bincount(label.ravel(), minlength=spec.num_classes) / label.size
    print(
        "astronaut: class shares "
        + ", ".join(f"{n} {100 * s:.1f}%" for n, s in zip(spec.class_names, shares, strict=True))
    )
    return path


def parse_and_recolour_astronaut(
    out_dir: Path, weights_name: str = "p2_unet_celebamask_mini"
) -> dict[str, Path]:
    """Parse the astronaut with the 19-class CelebAMask-HQ model (framed as its training
    faces), then recolour her hair and lips; returns the written PNGs by name."""
    from skimage import data

    opened = open_model(weights_name)
    spec = get_spec(opened.dataset)
    photo = data.astronaut()
    label, _ = parse_photo(opened.model, photo, *framing_of(opened.run_config))
    recoloured = recolour(photo, label, part_class_ids(spec.class_names, "hair"), "#7a3cff")
    recoloured = recolour(recoloured, label, part_class_ids(spec.class_names, "lips"), "#d0103a")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "parsing": out_dir / "astronaut_parsing_19.png",
        "recoloured": out_dir / "astronaut_recoloured.png",
    }
    Image.fromarray(overlay(photo, label, spec.palette(), 0.5)).save(written["parsing"])
    Image.fromarray(recoloured).save(written["recoloured"])
    present = [spec.class_names[i] for i in np.unique(label) if i]
    print(f"astronaut, 19 classes: found {', '.join(present)}; hair and lips recoloured")
    return written


def run_demo(out_dir="outputs/demo", epochs: int = 8) -> dict:
    """Both steps; writes ``summary.json`` in ``out_dir``."""
    out_dir = Path(out_dir)
    metrics = train_on_sample(out_dir, epochs=epochs)
    print(format_table(metrics))
    overlay_path = parse_astronaut(out_dir)
    parsed = parse_and_recolour_astronaut(out_dir)
    summary = {
        "sample_training": {k: metrics[k] for k in ("pixel_accuracy", "mean_iou")},
        "astronaut_overlay": str(overlay_path),
        **{f"astronaut_{name}": str(path) for name, path in parsed.items()},
        "run_dir": str(out_dir / "run"),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"overlay written to {overlay_path}")
    return summary
