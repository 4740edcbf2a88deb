"""The main job on a fresh machine, end to end, in a few minutes on a CPU; it ends with one
page to open, ``OUT/index.html``.

1. Smoke test: write the bundled CelebAMask-HQ sample (procedurally drawn faces, the real
   on-disk layout), prepare it, and train project 2's U-Net config on it briefly — the same
   code path as a real run, at a tiny size. Its numbers show the pipeline learns, nothing more.
2. Every shipped model (``weights/manifest.json`` entries whose file is in ``weights/``) on
   real photos that ship with scikit-image: face parsing overlays with a legend, the portrait
   cut-outs of the person/background models, the 19-class model's hair and lip recolouring.
3. The page: those pictures, each model's recorded validation metrics beside the seed's
   reported ones, and the smoke test's numbers, labelled as such.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from facecolab.apps.inference import portrait_probability
from facecolab.apps.portrait import composite
from facecolab.apps.recolour import part_class_ids, recolour
from facecolab.data.specs import get_spec
from facecolab.fsutil import atomic_path, atomic_write_bytes
from facecolab.modelfiles.load import load_pretrained, open_model
from facecolab.modelfiles.manifest import (
    default_weights_dir,
    entry_config,
    model_names,
    read_manifest,
)
from facecolab.viz import overlay
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.faces import WHOLE_PHOTO_DATASETS, framing_of
from facecolab.workflows.predict import parse_faces
from facecolab.workflows.sample_mode import project_config
from facecolab.workflows.train import train

SAMPLE_CONFIG = "p2_unet_celebamask_hq.json"  # a shipped config (facecolab.config.config_file)


def train_on_sample(
    out_dir: Path, count: int = 160, size: int = 64, epochs: int = 8, verbose: int | str = 2
) -> dict:
    """Prepare the CelebAMask-HQ sample and train project 2's config on it briefly, with the
    sample mode's settings for a short run (``facecolab.workflows.sample_mode.SHORT_RUN``)."""
    config = project_config(
        SAMPLE_CONFIG,
        None,
        out_dir,
        epochs=epochs,
        image_size=size,
        batch_size=8,
        sample_count=count,
        sample_size=128,
    )
    return train(config, out_dir / "run", verbose=verbose)


def parse_astronaut(out_dir: Path, weights_name: str = "lfw_parts_unet") -> Path:
    """Parse scikit-image's astronaut photo with a shipped model; returns the overlay PNG."""
    from skimage import data

    model = load_pretrained(weights_name)
    spec = get_spec(read_manifest()[weights_name]["dataset"])
    photo = data.astronaut()
    label = parse_faces(model, photo, FaceDetector(), framing_of(dataset=spec.name)).label
    out_dir.mkdir(parents=True, exist_ok=True)
    _save(label, out_dir / "astronaut_label.png")
    path = out_dir / "astronaut_overlay.png"
    side_by_side = np.concatenate([photo, overlay(photo, label, spec.palette(), 0.45)], axis=1)
    _save(side_by_side, path)
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
    framing = framing_of(opened.run_config, opened.dataset)
    label = parse_faces(opened.model, photo, FaceDetector(), framing).label
    recoloured = recolour(photo, label, part_class_ids(spec.class_names, "hair"), "#7a3cff")
    recoloured = recolour(recoloured, label, part_class_ids(spec.class_names, "lips"), "#d0103a")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "parsing": out_dir / "astronaut_parsing_19.png",
        "recoloured": out_dir / "astronaut_recoloured.png",
    }
    _save(overlay(photo, label, spec.palette(), 0.5), written["parsing"])
    _save(recoloured, written["recoloured"])
    present = [spec.class_names[i] for i in np.unique(label) if i]
    print(f"astronaut, 19 classes: found {', '.join(present)}; hair and lips recoloured")
    return written


# Person / background models, shown as cut-outs: the face framing's whole-photo sets.
PORTRAIT_DATASETS = WHOLE_PHOTO_DATASETS
PHOTO_CREDITS = {
    "astronaut": "scikit-image's astronaut (Eileen Collins, NASA, public domain)",
    "camera": "scikit-image's cameraman (CC0; grey and in profile, unlike the frontal colour "
    "portraits the model was trained on)",
}
SHOWN_METRICS = ("pixel_accuracy", "mean_iou", "mean_f1", "f1_overall")


def real_photos() -> dict[str, np.ndarray]:
    """The photos of people that ship with scikit-image, ``uint8 (H, W, 3)`` by name."""
    from skimage import data

    camera = data.camera()
    return {"astronaut": data.astronaut(), "camera": np.stack([camera] * 3, axis=-1)}


def shipped_models(weights_dir=None) -> list[str]:
    """Manifest entries whose weights file is in the weights folder (what ships)."""
    folder = Path(weights_dir) if weights_dir else default_weights_dir()
    manifest = read_manifest(weights_dir)
    return [name for name in model_names(manifest) if (folder / manifest[name]["file"]).is_file()]


@dataclass
class Picture:
    path: Path
    caption: str


@dataclass
class ModelCard:
    """What the page shows of one shipped model."""

    name: str
    task: str
    pictures: list[Picture] = field(default_factory=list)
    legend: list[tuple[str, tuple[int, int, int]]] = field(default_factory=list)
    note: str = ""


def _save(array: np.ndarray, path: Path) -> Path:
    """``array`` as an image at ``path``, written atomically (``fsutil.atomic_path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, keep_suffix=True) as temporary:
        Image.fromarray(array).save(temporary)
    return path


def show_model(name: str, photos: dict[str, np.ndarray], out_dir: Path) -> ModelCard:
    """Run shipped model ``name`` on ``photos``; its pictures go to ``out_dir/models/``."""
    opened = open_model(name)
    entry = read_manifest()[name]
    spec = get_spec(opened.dataset or entry["dataset"])
    folder = out_dir / "models"
    if spec.name in PORTRAIT_DATASETS:
        card = ModelCard(name, "portrait cut-out (person / background)")
        for photo_name, photo in photos.items():
            alpha = portrait_probability(opened.model, photo, reframe=True)  # as the app
            cut = composite(photo, alpha, "white")
            path = _save(np.concatenate([photo, cut], axis=1), folder / f"{name}_{photo_name}.png")
            share = 100 * float((alpha > 0.5).mean())
            card.pictures.append(
                Picture(path, f"{PHOTO_CREDITS[photo_name]}: person {share:.0f} %")
            )
        return card
    card = ModelCard(name, f"face parsing, {spec.num_classes} classes")
    photo = photos["astronaut"]
    framing = framing_of(opened.run_config, opened.dataset)
    label = parse_faces(opened.model, photo, FaceDetector(), framing).label
    palette = spec.palette()
    path = _save(
        np.concatenate([photo, overlay(photo, label, palette, 0.5)], axis=1),
        folder / f"{name}_astronaut.png",
    )
    card.pictures.append(Picture(path, f"{PHOTO_CREDITS['astronaut']}: parsing overlay"))
    present = np.unique(label)
    card.legend = [(spec.class_names[i], tuple(int(c) for c in palette[i])) for i in present if i]
    card.note = "face found by BlazeFace, cropped as the training faces were"
    if spec.num_classes == 19 and {"hair", "l_lip"} <= set(spec.class_names):
        written = parse_and_recolour_astronaut(folder, name)
        card.pictures.append(
            Picture(written["recoloured"], "hair recoloured violet, lips red (apps.recolour)")
        )
    return card


def reference_of(name: str, entry: dict) -> dict:
    """The reference figures for a shipped model: its training config's ``reference``
    (``manifest.entry_config``)."""
    return entry_config(name, entry).get("reference") or {}


def metric_figures(metrics: dict) -> str:
    """A manifest entry's ``metrics`` in one line, in percent: ``SHOWN_METRICS`` first, then
    up to five figures with the grouped F1s (``"pixel_accuracy 91.4, mean_iou 64.4, …"``)."""
    shown = [(k, metrics[k]) for k in SHOWN_METRICS if isinstance(metrics.get(k), (int, float))]
    shown += [
        (k, v)
        for k, v in metrics.items()
        if k not in SHOWN_METRICS and k.startswith("f1_") and isinstance(v, (int, float))
    ][: max(0, 5 - len(shown))]
    return ", ".join(f"{k} {100 * v:.1f}" for k, v in shown) or "—"


def results_rows(names: list[str]) -> list[dict]:
    """One row per shipped model: the validation metrics the manifest records beside the
    seed's reported figures."""
    manifest = read_manifest()
    rows = []
    for name in names:
        entry = manifest[name]
        metrics = entry.get("metrics") or {}
        reference = reference_of(name, entry)
        rows.append(
            {
                "model": name,
                "ours": metric_figures(metrics),
                "evaluated_on": metrics.get("evaluated_on", "—"),
                "reference": metric_figures(reference.get("metrics") or {}),
                "reference_source": reference.get("source", "—"),
            }
        )
    return rows


PAGE_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "img{max-width:100%;border:1px solid #ccc}figure{margin:1em 0}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
    "vertical-align:top;font-size:90%}.swatch{display:inline-block;width:1em;height:1em;"
    "margin:0 4px 0 12px;vertical-align:middle;border:1px solid #888}.smoke{color:#555}"
)


def write_page(out_dir: Path, cards: list[ModelCard], rows: list[dict], sample: dict) -> Path:
    """``out_dir/index.html``: the pictures of every shipped model, the results table and the
    sample training (smoke test); image links are relative, so the folder can be moved."""
    e = html.escape

    def rel(path: Path) -> str:
        return e(Path(path).relative_to(out_dir).as_posix())

    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>facecolab demo</title>"
        f"<style>{PAGE_STYLE}</style></head><body>",
        "<h1>facecolab: the main job</h1>",
        "<p>Every model shipped in <code>weights/</code>, run on real photos that ship with "
        "scikit-image; each model's recorded validation metrics beside the figures the seed "
        "project reported; and a smoke test of the training path on the bundled sample of "
        "drawn faces.</p>",
        "<h2>1. Shipped models on real photos</h2>",
    ]
    for card in cards:
        parts.append(f"<h3><code>{e(card.name)}</code>: {e(card.task)}</h3>")
        if card.legend:
            swatches = "".join(
                f"<span class='swatch' style='background:rgb{colour}'></span>{e(name)}"
                for name, colour in card.legend
            )
            parts.append(f"<p>Legend (classes found):{swatches}</p>")
        if card.note:
            parts.append(f"<p><small>{e(card.note)}</small></p>")
        parts += [
            f"<figure><img src='{rel(p.path)}' alt='{e(p.caption)}'>"
            f"<figcaption>{e(p.caption)}</figcaption></figure>"
            for p in card.pictures
        ]
    parts += [
        "<h2>2. Results: recorded validation metrics beside the seed's reported figures</h2>",
        "<table><tr><th>model</th><th>ours (manifest, %)</th><th>evaluated on</th>"
        "<th>reference (%)</th><th>reference source</th></tr>",
        *(
            f"<tr><td><code>{e(r['model'])}</code></td><td>{e(r['ours'])}</td>"
            f"<td>{e(r['evaluated_on'])}</td><td>{e(r['reference'])}</td>"
            f"<td>{e(r['reference_source'])}</td></tr>"
            for r in rows
        ),
        "</table><p><small>The shipped models were trained on stand-ins for the seeds' data "
        "(see each entry of weights/manifest.json), so the columns are comparable in kind, "
        "not measured on the same images.</small></p>",
        "<h2 class='smoke'>3. Smoke test: training on the bundled sample (not a result)</h2>",
        f"<p class='smoke'>{e(sample['description'])}: validation pixel accuracy "
        f"{100 * sample['pixel_accuracy']:.1f} %, mean IoU {100 * sample['mean_iou']:.1f} % "
        f"on drawn faces. Run folder: <code>{e(sample['run_dir'])}</code>.</p>",
    ]
    if sample.get("curves"):
        parts.append(
            f"<figure><img src='{rel(sample['curves'])}' alt='training curves'>"
            "<figcaption>sample training curves</figcaption></figure>"
        )
    parts.append("</body></html>")
    page = out_dir / "index.html"
    atomic_write_bytes(page, "\n".join(parts).encode("utf-8"))
    return page


def run_demo(
    out_dir="outputs/demo", epochs: int = 8, sample_count: int = 160, size: int = 64
) -> dict:
    """The three steps; writes ``index.html`` and ``summary.json`` in ``out_dir``."""
    out_dir = Path(out_dir)
    names = shipped_models()
    print(
        f"Step 1 of 3 — smoke test of the training path: project 2's U-Net config on "
        f"{sample_count} procedurally drawn faces (the bundled CelebAMask-HQ sample) at "
        f"{size}x{size}, {epochs} epochs, into {out_dir / 'run'}. Its numbers only show "
        "that the pipeline learns.",
        flush=True,
    )
    metrics = train_on_sample(out_dir, count=sample_count, size=size, epochs=epochs)
    print(
        f"Sample training done: validation pixel accuracy {100 * metrics['pixel_accuracy']:.1f} %, "
        f"mean IoU {100 * metrics['mean_iou']:.1f} % on drawn faces (per class: "
        f"{out_dir / 'run' / 'metrics.json'}, curves: {out_dir / 'run' / 'curves.png'})"
    )
    print(
        f"Step 2 of 3 — the {len(names)} shipped models on scikit-image's photos: "
        f"{', '.join(names)}",
        flush=True,
    )
    photos = real_photos()
    cards = []
    for name in names:
        card = show_model(name, photos, out_dir)
        print(f"  {name}: {card.task} → {', '.join(str(p.path) for p in card.pictures)}")
        cards.append(card)
    print("Step 3 of 3 — the page.", flush=True)
    curves = out_dir / "run" / "curves.png"
    sample = {
        "description": f"project 2's U-Net on {sample_count} drawn faces, {epochs} epochs",
        "pixel_accuracy": metrics["pixel_accuracy"],
        "mean_iou": metrics["mean_iou"],
        "run_dir": str(out_dir / "run"),
        "curves": curves if curves.is_file() else None,
    }
    page = write_page(out_dir, cards, results_rows(names), sample)
    summary = {
        "page": str(page),
        "sample_training": {k: metrics[k] for k in ("pixel_accuracy", "mean_iou")},
        "models": {c.name: [str(p.path) for p in c.pictures] for c in cards},
        "run_dir": str(out_dir / "run"),
    }
    atomic_write_bytes(out_dir / "summary.json", json.dumps(summary, indent=2).encode())
    print(
        f"Done. Open {page.resolve()} — every shipped model on real photos, the results "
        "table and the smoke test, on one page."
    )
    return summary
