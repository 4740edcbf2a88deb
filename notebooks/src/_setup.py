# %% [markdown]
# ## Setup
#
# On Colab this clones the repository and installs what Colab lacks; TensorFlow and Keras are
# filtered out of the requirements so Colab's own (GPU) builds are never reinstalled. Elsewhere,
# run the notebook from a checkout set up with `. scripts/setup.sh` (it does nothing here).

# %%
import os
import subprocess
import sys

REPOSITORY = "facecolab/facecolab"  # owner/name of the public repository: set it to your fork
CLONE = "/content/facecolab"  # where Colab clones it

if "google.colab" in sys.modules:
    if not os.path.isdir(CLONE):
        url = f"https://github.com/{REPOSITORY}"
        subprocess.run(["git", "clone", "-q", "--depth", "1", url, CLONE], check=True)
    os.chdir(CLONE)
    install = f"{sys.executable} -m pip install -q -r /dev/stdin"
    subprocess.run(
        f"grep -v -E '^(tensorflow|keras)' requirements.txt | {install}", shell=True, check=True
    )
