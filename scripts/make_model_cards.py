"""Write one model card per shipped model, ``docs/models/<name>.md``, from
``weights/manifest.json`` and the per-class validation results committed in
``benchmarks/results/validation/<name>.json`` (written by ``--measure``).

    python scripts/make_model_cards.py              write the cards
    python scripts/make_model_cards.py --check      exit 1 if a card is out of date (tests)
    python scripts/make_model_cards.py --measure    first re-run each model's recorded
                                                    validation command (needs ../shared/data)

A card says what the model does, how to use it, what it was trained on and under which
terms, its validation figures overall and per class (with the command that measured them),
what it is meant for and where it fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from facecolab.data.specs import PERSON_CLASSES  # noqa: E402
from facecolab.modelfiles.manifest import entry_config, read_manifest  # noqa: E402

CARDS = REPO / "docs" / "models"
RESULTS = REPO / "benchmarks" / "results" / "validation"

# What each training source allows, and who is in it.
DATA_TERMS = {
    "celebamask": (
        "CelebAMask-HQ (Lee et al., CVPR 2020) over CelebA-HQ: non-commercial research use "
        "only. The weights inherit that restriction: do not use them commercially."
    ),
    "lfw": (
        "LFW Part Labels (UMass Amherst) over Labeled Faces in the Wild: research use, no "
        "redistribution licence. The weights inherit that restriction."
    ),
    "shen": (
        "The portraits of Shen et al. (Eurographics 2016), Flickr photos with hand-made masks, "
        "released for academic use. Check the dataset's terms before commercial use."
    ),
    "ccp": (
        "Clothing Co-Parsing (Yang et al., CVPR 2014), whose repository carries an Apache-2.0 "
        "licence file; no separate licence is stated for the photos."
    ),
}
LIMITS = {
    "face": (
        "- **Who is in the data.** CelebA-HQ and LFW are photos of celebrities and public "
        "figures: mostly adults, mostly light-skinned, mostly frontal, well lit and sharp. "
        "Expect lower accuracy on children, darker skin, profile views, heavy make-up, "
        "occlusions, low light and blur; nobody has measured by how much.\n"
        "- **Framing.** The model was trained on aligned face crops. `facecolab predict`, the "
        "apps and `facecolab.predict` find faces first (BlazeFace) and crop each as the "
        "training set framed it; a face smaller than about 40 pixels or seen in profile may "
        "not be found, and then the whole photo is parsed and flagged.\n"
        "- **Left and right** are the subject's (the datasets' convention): `l_eye` is the "
        "person's left eye, on the image's right.\n"
        "- Not for identifying people, inferring sensitive attributes, or any decision about "
        "a person."
    ),
    "portrait": (
        "- **Who is in the data.** Flickr portraits (Shen et al.), plus for the `people` mix "
        "full-body street-fashion photos (CCP) and CelebA-HQ faces: mostly adults, one to a "
        "few people, daylight. Crowds, people far away, unusual poses and people seen from "
        "behind are rarer and harder.\n"
        "- **Framing.** Whole photos are letterboxed (never squashed) to the model's input, "
        "turned to the photo's orientation; a person that covers only a few pixels of that "
        "input is missed.\n"
        "- Not for surveillance, counting or identifying people, or any decision about a "
        "person."
    ),
}


def shipped(manifest: dict) -> list[str]:
    """Manifest entries that ship a segmentation model (a weights file, no ``kind``)."""
    return [
        name
        for name, entry in manifest.items()
        if "kind" not in entry
        and "note" not in entry
        and (REPO / "weights" / entry.get("file", "")).is_file()
    ]


def sources(entry: dict) -> list[str]:
    text = entry.get("trained_on", "")
    found = [key for key in ("celebamask", "lfw", "shen", "ccp") if key in text.lower()]
    return found or (["lfw"] if entry.get("dataset") == "lfw_parts" else ["celebamask"])


def family(entry: dict) -> str:
    return "portrait" if tuple(entry.get("class_names", ())) == PERSON_CLASSES else "face"


def percent(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def metrics_table(metrics: dict) -> str:
    """Every fraction of ``metrics`` (and of its named variants) as a percentage; counts
    (integers, such as a set's photo count) stay out."""
    rows = [(k, v) for k, v in metrics.items() if isinstance(v, float)]
    variants = [(k, v) for k, v in metrics.items() if isinstance(v, dict)]
    lines = ["| metric | % |", "|---|---:|"]
    lines += [f"| {key} | {percent(value)} |" for key, value in rows]
    for variant, values in variants:
        lines += [
            f"| {key} ({variant}) | {percent(value)} |"
            for key, value in values.items()
            if isinstance(value, float)
        ]
    return "\n".join(lines)


def class_table(result: dict) -> str:
    lines = ["| class | IoU % | F1 % | pixels |", "|---|---:|---:|---:|"]
    for row in result["classes"]:
        lines.append(
            f"| {row['id']} {row['name']} | {percent(row['iou'])} | {percent(row['f1'])} "
            f"| {row['true_pixels']:,} |"
        )
    return "\n".join(lines)


def card(name: str, entry: dict) -> str:
    config = entry_config(name, entry)
    metrics = entry.get("metrics") or {}
    result_file = RESULTS / f"{name}.json"
    per_class = (
        "Per class on the same split (IoU and F1 of each class over all its pixels; "
        f"`benchmarks/results/validation/{name}.json`, written by "
        "`python scripts/make_model_cards.py --measure`):\n\n"
        + class_table(json.loads(result_file.read_text()))
        if result_file.is_file()
        else "Per-class figures: not measured yet (`python scripts/make_model_cards.py "
        "--measure` with the data in `../shared/data`)."
    )
    exports = entry.get("exports") or {}
    export_lines = "".join(
        f"\n- `weights/{export['file']}`: {export.get('format', kind)}"
        for kind, export in exports.items()
    )
    terms = "\n".join(f"- {DATA_TERMS[source]}" for source in sources(entry))
    label_set = entry.get("dataset")
    summary = config.get("description") or (
        f"Cuts people out of photos: {label_set} person / background masks."
        if family(entry) == "portrait"
        else f"Parses faces into the {len(entry['class_names'])} classes of {label_set}."
    )
    usage = (
        f"python -m facecolab.apps.portrait -i photo.jpg -m {name} -o cutout.png"
        if family(entry) == "portrait"
        else f"python -m facecolab predict --model {name} --input photos/ --out parsed/"
    )
    return f"""# {name}

{summary}

- **Model:** {entry.get("model", config.get("model", {}).get("name", "?"))}
- **Input:** RGB photo; the model runs at {entry["input_size"][0]}×{entry["input_size"][1]}
  (float32 in [0, 1]; it normalises inside).
- **Output:** per-pixel probabilities of {len(entry["class_names"])} classes:
  {", ".join(f"`{c}`" for c in entry["class_names"])}.
- **Files:** `weights/{entry["file"]}` ({entry.get("size_bytes", 0) / 1e6:.1f} MB, sha256
  `{entry["sha256"][:16]}…`; {entry.get("format", "")}){export_lines}

## Use

```python
import facecolab

model = facecolab.load_pretrained("{name}")
labels = facecolab.predict(model, "photo.jpg", dataset="{label_set}")
```

```bash
{usage}
```

## Training data and terms

{entry.get("trained_on", "")}

{terms}

The code is MIT-licensed; the weights follow the terms of their training data above.

## Validation

{metrics.get("evaluated_on", "")}

{metrics_table({k: v for k, v in metrics.items() if k not in ("evaluated_on", "command")})}

Measured by `{metrics.get("command", "see weights/manifest.json")}`.

{per_class}

## Intended use and limits

Face parsing and portrait segmentation for research, teaching and creative tools (hair and
lip recolouring, background blur or replacement) on photos the user has the right to use.

{LIMITS[family(entry)]}

## Reproduce

{entry.get("source", "")}

{training_text(entry)}
"""


def training_text(entry: dict) -> str:
    """The manifest's training record as a list (one line per field, a sub-list per stage)."""
    record = entry.get("training") or entry.get("training_wall_time")
    if not isinstance(record, dict):
        return f"Training: {record or 'not recorded'}"

    def lines(fields: dict, indent: str) -> list[str]:
        out = []
        for key, value in fields.items():
            if key == "stages":
                continue
            if isinstance(value, dict):
                value = "; ".join(f"{k} {v}" for k, v in value.items())
            elif value is None:
                value = "not recorded"
            out.append(f"{indent}- {key.replace('_', ' ')}: {value}")
        return out

    text = ["Training:", "", *lines(record, "")]
    for number, stage in enumerate(record.get("stages", []), 1):
        text += [f"- stage {number}:", *lines(stage, "  ")]
    return "\n".join(text)


def evaluate_command(entry: dict) -> list[str]:
    """The ``python -m facecolab evaluate …`` command the manifest records for ``entry``'s
    validation figures, as a list of words."""
    metrics = entry.get("metrics") or {}
    text = f"{metrics.get('command', '')} {metrics.get('evaluated_on', '')}"
    found = re.search(r"python -m facecolab evaluate [^()]+?(?=\s*\(|\)|$)", text)
    if not found:
        raise ValueError(f"{entry['file']}: the manifest records no evaluate command")
    return found.group(0).split()


def measure(name: str, entry: dict) -> None:
    """Re-run the model's recorded validation command; keep the per-class result in
    ``RESULTS/<name>.json``."""
    out = REPO / "outputs" / "evaluate" / f"{name}-val-card"
    command = [sys.executable, *evaluate_command(entry)[1:]]
    command += ["--out", str(out), "--no-progress", "--overwrite"]
    subprocess.run(command, check=True, cwd=REPO)
    result = json.loads((out / "metrics.json").read_text())
    RESULTS.mkdir(parents=True, exist_ok=True)
    keep = {"model", "data", "split", "mode", "pixel_accuracy", "mean_iou", "classes"}
    (RESULTS / f"{name}.json").write_text(
        json.dumps({k: v for k, v in result.items() if k in keep}, indent=2) + "\n"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a card is stale")
    parser.add_argument("--measure", action="store_true", help="re-measure per-class results")
    args = parser.parse_args(argv)
    manifest = read_manifest()
    stale = []
    for name in shipped(manifest):
        if args.measure:
            measure(name, manifest[name])
        path, text = CARDS / f"{name}.md", card(name, manifest[name])
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
            continue
        CARDS.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print("out of date (run python scripts/make_model_cards.py):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
