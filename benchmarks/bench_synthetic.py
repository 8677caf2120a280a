"""Speed of the embedded procedural dataset on one CPU core.

Measures render_pair (in memory) and write_dataset (render + PNG encode + file write) at the
default 1024x512 pair size, and compares the render rate with the 50 pairs/s target.

    python benchmarks/bench_synthetic.py [--height 512] [--pairs 100] [--runs 5] [--write-pairs 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sketch2color.data.embedded import write_dataset  # noqa: E402
from sketch2color.data.synthetic import render_pair  # noqa: E402

TARGET_PAIRS_PER_SECOND = 50.0


def pin_to_one_core() -> str:
    """Restrict this process (and OpenCV's thread pool) to a single core; describe what was done."""
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "OpenCV single-threaded (core pinning not available on this OS)"


def render_rate(height: int, pairs: int, runs: int) -> list[float]:
    """Pairs per second of render_pair, one value per run (different seeds each run)."""
    render_pair(0, height)  # warm-up: imports, first-call allocations
    rates = []
    for run in range(runs):
        start = time.perf_counter()
        for seed in range(run * pairs, (run + 1) * pairs):
            render_pair(seed, height)
        rates.append(pairs / (time.perf_counter() - start))
    return rates


def write_rate(height: int, pairs: int, runs: int) -> list[float]:
    """Pairs per second of write_dataset into a fresh temporary folder, one value per run."""
    rates = []
    with tempfile.TemporaryDirectory(prefix="bench_synthetic_") as tmp:
        for run in range(runs):
            n_val = max(1, pairs // 10)
            start = time.perf_counter()
            write_dataset(
                Path(tmp) / f"run{run}",
                n_train=pairs - n_val,
                n_val=n_val,
                seed=run,
                height=height,
                progress=False,
            )
            rates.append(pairs / (time.perf_counter() - start))
    return rates


def main(argv: list[str] | None = None) -> None:
    """Run both measurements and print a short report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=512, help="pair height; the pair is 2*height wide")
    parser.add_argument("--pairs", type=int, default=100, help="pairs per render run")
    parser.add_argument("--runs", type=int, default=5, help="number of runs (the median is reported)")
    parser.add_argument("--write-pairs", type=int, default=60, help="pairs per write_dataset run")
    args = parser.parse_args(argv)

    print(
        f"sketch2color.data.synthetic benchmark: {2 * args.height}x{args.height} pairs, {pin_to_one_core()}"
    )
    renders = render_rate(args.height, args.pairs, args.runs)
    median_render = statistics.median(renders)
    print(
        f"render_pair   : {median_render:7.1f} pairs/s median of {args.runs} runs x {args.pairs} "
        f"(runs: {', '.join(f'{r:.1f}' for r in renders)})"
    )
    writes = write_rate(args.height, args.write_pairs, max(1, args.runs // 2))
    median_write = statistics.median(writes)
    print(
        f"write_dataset : {median_write:7.1f} pairs/s median of {len(writes)} runs x {args.write_pairs} "
        f"(render + PNG encode + write; runs: {', '.join(f'{r:.1f}' for r in writes)})"
    )
    print(
        f"target        : {TARGET_PAIRS_PER_SECOND:.0f} pairs/s for render_pair -> "
        f"{median_render / TARGET_PAIRS_PER_SECOND:.2f}x the target "
        f"({'OK' if median_render >= TARGET_PAIRS_PER_SECOND else 'TOO SLOW'})"
    )


if __name__ == "__main__":
    main()
