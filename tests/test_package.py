"""A wheel built from the repository installs and works outside the checkout: the
``facecolab`` command answers, and the shipped configs and weights are found as package data
(``importlib.resources``), not through the repository's folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What the wheel is built from: the files pyproject.toml reads and the package with the
# folders its package-data links point to.
SOURCES = ("pyproject.toml", "README.md", "facecolab", "configs", "weights")

CHECK = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import facecolab
    from facecolab.config import config_file, load_config, shipped_configs
    from facecolab.modelfiles.load import load_pretrained
    from facecolab.modelfiles.manifest import pretrained_path

    site = Path(sys.argv[1]).resolve()
    inside = lambda path: Path(path).resolve().is_relative_to(site)
    assert inside(facecolab.__file__), facecolab.__file__
    assert (Path(facecolab.__file__).parent / "py.typed").is_file()
    assert "p2_unet_celebamask_hq.json" in shipped_configs()
    assert inside(config_file("p2_unet_celebamask_hq.json"))
    assert load_config("lfw_parts.json")["data"]["dataset"] == "lfw_parts"
    assert inside(pretrained_path("lfw_parts_unet"))
    model = load_pretrained("lfw_parts_unet")
    print("loaded", model.output_shape)
    """
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The repository built into a wheel (no network: the installed setuptools) and
    installed with ``pip --target``; returns the target folder."""
    pytest.importorskip(
        "setuptools",
        minversion="77",
        reason="building the wheel needs setuptools>=77 (dev extra; SPDX license string)",
    )
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*build, "-w", root / "dist", source], check=True, capture_output=True)
    (wheel,) = (root / "dist").glob("facecolab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "facecolab/configs/p2_unet_celebamask_hq.json" in names
    assert "facecolab/pretrained/manifest.json" in names
    site = root / "site"
    install = [*pip, "install", "--no-deps", "--no-index", "--target", site, wheel]
    subprocess.run(install, check=True, capture_output=True)
    return site


def run_outside_the_checkout(site: Path, *command, cwd: Path):
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_installed_command_answers(installed, tmp_path):
    done = run_outside_the_checkout(
        installed, installed / "bin" / "facecolab", "--help", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "usage: facecolab" in done.stdout and "prepare" in done.stdout


def test_the_installed_package_finds_its_configs_and_weights(installed, tmp_path):
    done = run_outside_the_checkout(installed, sys.executable, "-c", CHECK, installed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "loaded (None, 128, 128, 3)" in done.stdout


def test_a_folder_named_facecolab_in_the_working_folder_hides_no_shipped_file(tmp_path):
    """Seen from a clone's parent folder, the clone (a folder named facecolab) is imported as a
    namespace package in front of an editable install; the shipped weights and configs are
    still found, so the commands work from there too."""
    (tmp_path / "facecolab").mkdir()
    code = (
        "from facecolab.config import load_config\n"
        "from facecolab.modelfiles.manifest import read_manifest\n"
        "print(len(read_manifest()), load_config('lfw_parts.json')['data']['dataset'])\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    count, dataset = done.stdout.split()[-2:]
    assert int(count) >= 9 and dataset == "lfw_parts"


def test_the_version_is_stated_once_for_the_package_and_pyproject():
    import tomllib

    import facecolab

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert facecolab.__version__ == pyproject["project"]["version"]
