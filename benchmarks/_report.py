"""What the benchmarks share: timing calls, the machine's description, markdown and JSON output.

The benchmarks run as scripts (``python benchmarks/bench_x.py``), which puts this folder on
``sys.path``, so they import this module as ``_report``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np


def time_calls(call: Callable[[], object], count: int) -> list[float]:
    """Wall seconds of each of ``count`` calls of ``call`` (no arguments)."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def measure_latency(
    call: Callable[[], object],
    warmup: int,
    repeats: int,
    max_seconds: float | None = None,
    min_repeats: int = 30,
) -> dict:
    """Latency of ``call`` after ``warmup`` untimed calls: the median and 90th percentile of
    ``repeats`` timed calls in milliseconds, and the CPU cores it kept busy on average
    (process CPU seconds / wall seconds over the timed calls: 1.0 = one core).

    With ``max_seconds``, a slow call stops early once the timed calls have taken that long
    and number at least ``min_repeats`` (the warm-up likewise after a sixth of it, at least
    3 calls); ``"runs"`` says how many were timed.
    """
    budget = float("inf") if max_seconds is None else max_seconds
    _timed_until(call, warmup, budget / 6, min(3, warmup))
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    times = _timed_until(call, repeats, budget, min_repeats)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "median_ms": 1000 * statistics.median(times),
        "p90_ms": 1000 * float(np.percentile(times, 90)),
        "runs": len(times),
        "cpu_cores_busy": cpu / wall,
    }


def _timed_until(call, count: int, seconds: float, at_least: int) -> list[float]:
    """:func:`time_calls` of up to ``count`` calls, stopping after ``seconds`` in all once
    ``at_least`` calls are done."""
    times: list[float] = []
    while len(times) < count and (len(times) < at_least or sum(times) < seconds):
        times += time_calls(call, 1)
    return times


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise KeyError(field)


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux ``/proc``)."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB: ``VmHWM``, which starts afresh at
    ``exec`` (``ru_maxrss`` would carry over the parent's peak into a subprocess)."""
    return _status_mb("VmHWM")


def time_train_steps(
    model, batch: int, size: int, num_classes: int, warmup: int, steps: int
) -> tuple[float, list[float]]:
    """Time ``model.train_on_batch`` on one seeded random batch.

    Args:
        model: a compiled segmentation model taking ``float32 (batch, size, size, 3)``; with
            several outputs (deep supervision) every output gets the same labels.
        batch, size, num_classes: the random batch: images in [0, 1), labels
            ``int32 (batch, size, size)`` in ``[0, num_classes)``.
        warmup: untimed-for-the-median steps first (tracing, first allocations).
        steps: timed steps.

    Returns:
        ``(seconds of all warm-up steps together, [seconds of each timed step])``.
    """
    rng = np.random.default_rng(0)
    images = rng.random((batch, size, size, 3), dtype=np.float32)
    labels = rng.integers(0, num_classes, (batch, size, size)).astype(np.int32)
    targets = (labels,) * len(model.outputs) if len(model.outputs) > 1 else labels

    def step():
        model.train_on_batch(images, targets)

    warmup_seconds = sum(time_calls(step, warmup))
    return warmup_seconds, time_calls(step, steps)


def machine_info(load_before: float | None = None, load_after: float | None = None) -> dict:
    """The JSON description of this machine: cores, the 1-minute load average before and after
    the run (when given: other work on the machine slows every figure), CPU and Python."""
    description: dict = {"cpu_count": os.cpu_count()}
    if load_before is not None and load_after is not None:
        description["load_average_1min"] = {
            "before": round(load_before, 2),
            "after": round(load_after, 2),
        }
    description["machine"] = f"{platform.machine()} {platform.processor()}".strip()
    description["python"] = platform.python_version()
    return description


def load_average() -> float:
    """The 1-minute load average: other work on the machine slows every figure."""
    return os.getloadavg()[0]


def machine_summary(machine: Mapping) -> str:
    """``"N cores, load average a → b"`` (the load only when measured) from
    :func:`machine_info`'s dict, for headlines."""
    summary = f"{machine['cpu_count']} cores"
    if "load_average_1min" in machine:
        load = machine["load_average_1min"]
        summary += f", load average {load['before']:.1f} → {load['after']:.1f}"
    return summary


def markdown_table(
    header: Sequence[str], row_format: str, rows: Iterable[Mapping], text_columns: int
) -> str:
    """A markdown table, one line per row.

    Args:
        header: the column titles.
        row_format: the cells of one line joined by `` | ``, a ``str.format`` template over the
            row's keys (e.g. ``"{model} | {seconds:.2f}"``).
        rows: the rows as mappings.
        text_columns: how many leading columns are text (left-aligned); the rest are numbers
            (right-aligned).
    """
    align = ["---"] * text_columns + ["---:"] * (len(header) - text_columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + row_format.format_map(row) + " |" for row in rows]
    return "\n".join(lines)


def report(table: str, result: dict, out: str | None, headline: str | None = None) -> None:
    """Print ``headline`` (when given) and the markdown ``table``; write ``result`` as indented
    JSON (with a final newline) to ``out`` when given."""
    if headline is not None:
        print(headline)
    print(table)
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")


def report_run(
    settings: Mapping,
    rows: list[dict],
    table: str,
    headline: str,
    out: str | None,
    load_before: float | None = None,
    rows_key: str = "rows",
) -> None:
    """The end of a benchmark run: :func:`report` with the machine described in both outputs.

    Args:
        settings: the JSON fields before the machine's (``benchmark`` name, sizes, …).
        rows: the measurements, stored under ``rows_key`` after the machine's fields.
        table: the markdown table of ``rows``.
        headline: what was run; the cores (and the load average) are appended.
        out: the JSON file to write, if any.
        load_before: :func:`load_average` at the start; the end is measured now.
    """
    load_after = None if load_before is None else load_average()
    machine = machine_info(load_before, load_after)
    result = {**settings, **machine, rows_key: rows}
    report(table, result, out, f"{headline}, {machine_summary(machine)}")
