"""``facecolab serve`` end to end in a real Chromium: the server started as a user starts it
(on a free localhost port), the page driven by Playwright in headless Chromium (Debian's, at
``FACECOLAB_CHROMIUM`` or ``/usr/bin/chromium``; Playwright's own browser download is not
used), scikit-image's astronaut uploaded to each tab, each button clicked, each output image
fetched from the page and checked, and a screenshot of each tab saved to
``outputs/serve_e2e/``. Then a bad file, whose message must show in the page.

Select with ``-m browser``; without Chromium, Playwright or Gradio the tests skip and say why.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "outputs" / "serve_e2e"
CHROMIUM = Path(os.environ.get("FACECOLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_SECONDS = 300  # the server's start on a busy 2-core CPU, models loaded
REQUEST_MS = 120_000  # one tab's request, its first call included
# tab label, element-id prefix, the text its info line shows once done
TABS = [
    ("Parse a face", "parse", "face found"),
    ("Recolour", "recolour", "Recoloured"),
    ("Portrait", "portrait", "person"),
    ("Uncertainty", "uncertainty", "samples"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.is_file():
        pytest.skip(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set "
            "FACECOLAB_CHROMIUM): the browser tests did not run"
        )
    pytest.importorskip("gradio", reason="the app extra is not installed: pip install '.[app]'")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with (
        tempfile.TemporaryDirectory(prefix="facecolab-chromium-") as profile,
        sync_api.sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1100},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``http://127.0.0.1:PORT/`` of ``python -m facecolab serve``, once its models are
    loaded; its log is printed when a test fails."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = (folder / "serve.log").open("w")
    # This checkout's facecolab, whatever the environment has installed.
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", PYTHONPATH=path)
    process = subprocess.Popen(
        [sys.executable, "-m", "facecolab", "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + READY_SECONDS
    text = ""
    while time.monotonic() < deadline and process.poll() is None:
        text = (folder / "serve.log").read_text()
        if "models loaded" in text:
            break
        time.sleep(1)
    else:
        process.kill()
        text = (folder / "serve.log").read_text()
        pytest.fail(f"the server did not start:\n{text[-4000:]}")
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
    yield url
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def shown_image(page, selector: str) -> np.ndarray:
    """The picture an ``<img>`` in the page shows, fetched as the browser fetches it."""
    image = page.locator(f"{selector} img").first
    image.wait_for(state="visible", timeout=REQUEST_MS)
    source = image.get_attribute("src")
    answer = page.request.get(source if "://" in source else page.url.rstrip("/") + source)
    assert answer.ok, source
    return np.asarray(Image.open(io.BytesIO(answer.body())).convert("RGB"))


def upload(page, prefix: str, path: Path) -> None:
    page.locator(f"#{prefix}-photo input[type=file]").set_input_files(str(path))
    page.locator(f"#{prefix}-photo img").first.wait_for(state="attached", timeout=30_000)


def test_every_tab_in_chromium(chromium, server, astronaut):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page()
    page.goto(server)
    for tab, prefix, done in TABS:
        page.get_by_role("tab", name=tab).click()
        upload(page, prefix, astronaut)
        page.locator(f"#{prefix}-button").click()
        info = page.locator(f"#{prefix}-info")
        info.get_by_text(done).wait_for(timeout=REQUEST_MS)
        assert "ms" in info.inner_text() and "validation" in info.inner_text()
        picture = shown_image(page, f"#{prefix}-output")
        if prefix == "uncertainty":  # a four-panel figure
            assert picture.shape[1] > 2 * picture.shape[0] // 3
        else:
            assert picture.shape[1] == 512, (tab, picture.shape)
            assert picture.shape[0] >= 512
        assert picture.std() > 20, f"{tab}: a blank picture"
        assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 50, f"{tab}: too few colours"
        page.screenshot(path=str(SHOTS / f"{prefix}.png"), full_page=True)
    page.close()


def test_a_bad_file_is_answered_in_the_page(chromium, server, tmp_path):
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"these are not the pixels you are looking for")
    page = chromium.new_page()
    page.goto(server)
    upload(page, "parse", bad)
    page.locator("#parse-button").click()
    message = page.get_by_text("holiday.png: not an image this server can read")
    message.first.wait_for(timeout=REQUEST_MS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "bad_file.png"))  # the viewport, with the message
    page.close()
    with urllib.request.urlopen(server, timeout=30) as answer:  # still up
        assert answer.status == 200


def test_many_requests_at_once_are_all_answered(server, astronaut):
    """Twelve portrait requests from six clients at once: Gradio's queue answers every one
    with a picture, and the server is still up afterwards."""
    client_module = pytest.importorskip("gradio_client", reason="the app extra is not installed")
    from concurrent.futures import ThreadPoolExecutor

    def ask(_):
        client = client_module.Client(server, verbose=False)
        picture, info = client.predict(
            client_module.handle_file(str(astronaut)), api_name="/portrait"
        )
        return Image.open(picture).size, info

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(ask, range(12)))
    assert len(answers) == 12
    assert all(size[0] == 512 and "ms" in info for size, info in answers)
    with urllib.request.urlopen(server, timeout=30) as answer:
        assert answer.status == 200
