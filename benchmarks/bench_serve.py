"""``facecolab serve`` on this CPU: how long the server takes to start, and each tab's latency.

Starts ``python -m facecolab serve`` on a free localhost port (this checkout's code) and
measures:

- **ready**: process start → the page answers HTTP 200 (imports, models not yet loaded);
- **models loaded**: process start → every shipped model loaded and run once (the server
  prints it);
- per tab (``/parse``, ``/recolour``, ``/portrait``, ``/uncertainty`` through
  ``gradio_client``, scikit-image's astronaut, 512 × 512): the **server** time (what the
  tab's info line reports: reading the upload, faces, model, rendering) and the **round
  trip** the client sees (upload, queue, download of the PNG), median and 90th percentile of
  ``--repeats`` calls after one warm-up call.

Targets (issue 18): ready < 15 s, parse < 1 s per photo at 512², portrait < 100 ms.

    python benchmarks/bench_serve.py --out benchmarks/results/serve.json
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from _report import load_average, markdown_table, report_run

REPO = Path(__file__).resolve().parents[1]
ENDPOINTS = ("parse", "recolour", "portrait", "uncertainty")
TARGETS_MS = {"parse": 1000, "portrait": 100}
READY_TARGET_S = 15
SERVER_MS = re.compile(r"last request \*\*(\d+) ms\*\*")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, log_path: Path) -> tuple[subprocess.Popen, float, float]:
    """``(process, ready s, models loaded s)``, both from the process start."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", PYTHONPATH=path)
    log = log_path.open("w")
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "facecolab", "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    ready = None
    while process.poll() is None and time.perf_counter() - start < 600:
        if ready is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    if answer.status == 200:
                        ready = time.perf_counter() - start
            except OSError:
                pass
        if ready is not None and "models loaded" in log_path.read_text():
            return process, ready, time.perf_counter() - start
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start:\n{log_path.read_text()[-3000:]}")


def summary_ms(values: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(values), 1),
        "p90_ms": round(float(np.percentile(values, 90)), 1),
    }


def time_endpoint(client, photo, endpoint: str, repeats: int) -> dict:
    from gradio_client import handle_file

    server, trip = [], []
    for index in range(repeats + 1):
        start = time.perf_counter()
        result = client.predict(handle_file(str(photo)), api_name=f"/{endpoint}")
        elapsed = 1000 * (time.perf_counter() - start)
        info = next(r for r in result if isinstance(r, str) and "last request" in r)
        if index:  # the first call is the warm-up
            trip.append(elapsed)
            server.append(float(SERVER_MS.search(info).group(1)))
    row = {"endpoint": endpoint, "runs": repeats}
    row |= {f"server_{k}": v for k, v in summary_ms(server).items()}
    row |= {f"round_trip_{k}": v for k, v in summary_ms(trip).items()}
    row["target_ms"] = TARGETS_MS.get(endpoint)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", help="JSON results (benchmarks/results/serve.json)")
    args = parser.parse_args(argv)

    from gradio_client import Client
    from PIL import Image
    from skimage import data

    load_before = load_average()
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    photo = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    port = free_port()
    process, ready, loaded = start_server(port, folder / "serve.log")
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(folder))
        rows = [time_endpoint(client, photo, name, args.repeats) for name in ENDPOINTS]
    finally:
        process.terminate()
        process.wait(30)
    table = markdown_table(
        ["endpoint", "server median ms", "server p90 ms", "round trip median ms", "runs"],
        "{endpoint} | {server_median_ms:.0f} | {server_p90_ms:.0f} | "
        "{round_trip_median_ms:.0f} | {runs}",
        rows,
        1,
    )
    settings = {
        "benchmark": "serve",
        "photo": "skimage.data.astronaut(), 512x512 PNG",
        "startup": {
            "ready_s": round(ready, 2),
            "models_loaded_s": round(loaded, 2),
            "ready_target_s": READY_TARGET_S,
        },
    }
    headline = f"facecolab serve: ready in {ready:.1f} s, models loaded in {loaded:.1f} s"
    report_run(settings, rows, table, headline, args.out, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
