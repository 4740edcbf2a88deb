# %% [markdown]
# ## Setup
#
# On Colab this clones the repository and installs what Colab lacks; TensorFlow and Keras are
# filtered out of the requirements so Colab's own (GPU) builds are never reinstalled. Elsewhere,
# run the notebook from a checkout set up with `. scripts/setup.sh` (it only checks the install
# there). A failed clone or install stops here with the reason and what to do, and the cell
# ends by importing `facecolab` and printing the versions and the GPU, so the rest of the
# notebook never runs half set up.

# %%
import os
import subprocess
import sys

REPOSITORY = "facecolab/facecolab"  # owner/name on GitHub (pyproject.toml's Repository URL)
CLONE = "/content/facecolab"  # where Colab clones it


def run_step(command, what_to_do, **options):
    """Run a setup command; on failure raise with its output and what to do."""
    done = subprocess.run(command, capture_output=True, text=True, **options)
    if done.returncode != 0:
        raise RuntimeError(
            f"setup failed: {command}\n{done.stdout}{done.stderr}\nWhat to do: {what_to_do}"
        )


if "google.colab" in sys.modules:
    if not os.path.isdir(f"{CLONE}/.git"):
        run_step(
            ["git", "clone", "-q", "--depth", "1", f"https://github.com/{REPOSITORY}", CLONE],
            f"check the network and that github.com/{REPOSITORY} exists (set REPOSITORY to "
            f"your fork), delete {CLONE} if a broken copy is there, then rerun this cell",
        )
    os.chdir(CLONE)
    install = f"{sys.executable} -m pip install -q -r /dev/stdin"
    run_step(
        f"grep -v -E '^(tensorflow|keras)' requirements.txt | {install}",
        "read pip's message above; rerun this cell (Runtime → Restart session first if pip "
        "says so)",
        shell=True,
    )
    if CLONE not in sys.path:
        sys.path.insert(0, CLONE)

try:
    from facecolab.console import start_tensorflow

    start_tensorflow()  # TensorFlow's start-up log lines, filtered as TF_CPP_MIN_LOG_LEVEL asks
    from facecolab.apps.colab import environment
except ImportError as error:
    raise RuntimeError(
        f"facecolab cannot be imported ({error}): on Colab rerun this cell; elsewhere start "
        "Jupyter from a checkout set up with `. scripts/setup.sh`"
    ) from None
print(environment())
