"""The notebooks: converted from their percent-format sources in notebooks/src/ by
scripts/make_notebooks.py, committed without outputs, and each runs end to end in sample mode
at a tiny size (slow: a Jupyter kernel per notebook)."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
TEST_PARAMETERS = """\
EPOCHS = 1
IMAGE_SIZE = 64
BATCH_SIZE = 4
SAMPLE_COUNT = 12
IMAGENET_WEIGHTS = False  # no network in tests
MC_SAMPLES = 3
WORK_DIR = {work_dir!r}
"""
# Files each notebook must leave in WORK_DIR (globs).
ARTEFACTS = {
    "00_quickstart_lfw_parts.ipynb": ["astronaut_side_by_side.png"],
    "01_segnet_celeba_face.ipynb": [
        "evaluation/metrics.json",
        "evaluation/confusion_matrix.png",
        "predictions/*.png",
        "predictions/overlays/*.jpg",
        "uncertainty/*.npz",
        "uncertainty/reliability.png",
    ],
    "02_unet_celebamask_hq.ipynb": [
        "evaluation/metrics.json",
        "predictions/overlays/*.jpg",
        "recolour/*_lips.png",
        "astronaut/astronaut_recoloured.png",
    ],
    "03_pspnet_deeplab_face8.ipynb": [
        "evaluation/p3_pspnet_face8/metrics.json",
        "evaluation/p3_deeplab_face8/metrics.json",
        "predictions/p3_pspnet_face8/*.png",
        "predictions/p3_deeplab_face8/*.png",
    ],
    "04_unet_helen.ipynb": ["evaluation/metrics.json", "predict_image/*.png"],
    "05_portrait_mobilenetv2.ipynb": ["evaluation/metrics.json", "portrait/*.png"],
}


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", REPO / "scripts" / "make_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_notebook(name: str):
    nbformat = pytest.importorskip("nbformat", reason="nbformat not installed (dev extra)")
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def test_every_notebook_is_listed_and_has_a_source():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(ARTEFACTS)
    sources = sorted(f"{p.stem}.ipynb" for p in (NOTEBOOK_DIR / "src").glob("[!_]*.py"))
    assert sources == sorted(ARTEFACTS)


def test_notebooks_match_their_generator(capsys):
    pytest.importorskip("nbformat", reason="nbformat not installed (dev extra)")
    assert load_generator().main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(ARTEFACTS))
def test_notebook_is_committed_clean(name):
    notebook = read_notebook(name)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code) == 1
    setup = code[0].source
    assert '"google.colab" in sys.modules' in setup and "requirements.txt" in setup
    assert "grep -v -E '^(tensorflow|keras)'" in setup  # never reinstalls TensorFlow


def with_test_parameters(notebook, work_dir: Path, extra: str = ""):
    """The notebook with a cell after its parameters cell that sets tiny sizes (and
    ``extra`` settings)."""
    import nbformat

    index = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    cell = nbformat.v4.new_code_cell(TEST_PARAMETERS.format(work_dir=str(work_dir)) + extra)
    cell.id = "test-parameters"
    notebook.cells.insert(index + 1, cell)
    return notebook


def execute(name: str, work_dir: Path, extra: str = ""):
    """Run notebook ``name`` headless with the test parameters; returns it with its outputs
    and the seconds it took, after checking that no cell raised."""
    pytest.importorskip("ipykernel", reason="ipykernel not installed (dev extra)")
    nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (dev extra)")
    notebook = with_test_parameters(read_notebook(name), work_dir, extra)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    return notebook, seconds


def printed(notebook) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def shown_markdown(notebook) -> str:
    """The Markdown the notebook's cells displayed (``display(Markdown(...))``)."""
    return "".join(
        output.get("data", {}).get("text/markdown", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ARTEFACTS))
def test_notebook_runs_in_sample_mode(name, tmp_path):
    work_dir = tmp_path / "work"
    notebook, seconds = execute(name, work_dir)
    markdown = shown_markdown(notebook)
    if name != "00_quickstart_lfw_parts.ipynb":  # the quickstart trains nothing
        # Scores on the drawn sample are labelled a smoke check, never set against a paper.
        assert "A smoke check, not a result" in markdown
        assert "Reference:" not in markdown
        # ... and the shipped model is shown on real photos, with its validation figures.
        assert "Validation:" in markdown and "Measured by `python -m facecolab" in markdown
    for pattern in ARTEFACTS[name]:
        assert list(work_dir.glob(pattern)), f"{name} wrote no {pattern} in {seconds:.0f} s"
    metrics_files = list(work_dir.glob("evaluation/**/metrics.json"))
    for path in metrics_files:
        assert 0 <= json.loads(path.read_text())["pixel_accuracy"] <= 1
    print(f"{name}: {seconds:.0f} s")


@pytest.mark.slow
def test_notebook_01_pretrained_uses_the_shipped_bayesian_segnet(tmp_path):
    """PRETRAINED = True on the bundled sample: the shipped weights at their own size, no
    training run, MC-dropout maps of a real photo and the calibration errors."""
    work_dir = tmp_path / "work"
    notebook, _ = execute("01_segnet_celeba_face.ipynb", work_dir, "PRETRAINED = True\n")
    assert not (work_dir / "runs").exists()  # nothing was trained
    metrics = json.loads((work_dir / "evaluation" / "metrics.json").read_text())
    assert 0 <= metrics["pixel_accuracy"] <= 1
    assert (work_dir / "uncertainty" / "astronaut_mc.png").is_file()
    text = printed(notebook)
    eces = [float(x) for x in re.findall(r"expected calibration error ([\d.]+)%", text)]
    assert len(eces) == 2 and all(0 <= ece <= 100 for ece in eces)


@pytest.mark.slow
def test_notebook_pretrained_without_weights_stops_with_one_message(tmp_path):
    """PRETRAINED = True with a MODEL_PATH that is not there: the train cell raises the
    message saying what to do, and nothing is trained."""
    pytest.importorskip("ipykernel", reason="ipykernel not installed (dev extra)")
    nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (dev extra)")
    work_dir = tmp_path / "work"
    extra = f"PRETRAINED = True\nMODEL_PATH = {str(tmp_path / 'mine.keras')!r}\n"
    notebook = with_test_parameters(read_notebook("04_unet_helen.ipynb"), work_dir, extra)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    with pytest.raises(nbclient.exceptions.CellExecutionError) as raised:
        client.execute()
    message = str(raised.value)
    assert "PretrainedUnavailableError" in message and "mine.keras" in message
    assert not (work_dir / "runs").exists()
