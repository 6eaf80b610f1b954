"""memview from Python beside NumPy, PyAV and `memview run`: the three
figures issue 16 names, each a ratio of two workloads measured in this one
process, alternating, medians of seven rounds.

    target/py-venv/bin/python crates/memview-py/bench.py   # after cargo xtask py (pip install av)

A benchmark, not a test: it prints what it measured.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import memview

ZONES = [(x, y, 200, 200) for x, y in [
    (100, 100), (400, 120), (700, 140), (1000, 160), (1300, 180),
    (160, 600), (460, 620), (760, 640), (1060, 660), (1360, 680),
]]


def per_call(f, min_time=0.05):
    """Median seconds per call of `f` over seven batches."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            f()
        if time.perf_counter() - t >= min_time:
            break
        n *= 2
    out = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            f()
        out.append((time.perf_counter() - t) / n)
    return statistics.median(out)


def rounds(a, b, k=7):
    """Medians of `a` and `b` timed alternately `k` times, and of b / a."""
    xs, ys, rs = [], [], []
    for i in range(k):
        if i % 2:
            y, x = b(), a()
        else:
            x, y = a(), b()
        xs.append(x)
        ys.append(y)
        rs.append(y / x)
    return statistics.median(xs), statistics.median(ys), statistics.median(rs)


def rois_as_arrays():
    cap = memview.Capture("synthetic", size=(1920, 1080), frames=None)
    frame = cap.recv()
    whole = [np.asarray(p) for p in frame.planes]

    def ours():
        for x, y, w, h in ZONES:
            for p in frame.roi(x, y, w, h).planes:
                np.asarray(p)

    def numpy():
        for x, y, w, h in ZONES:
            whole[0][y : y + h, x : x + w]
            whole[1][y // 2 : (y + h) // 2, x // 2 : (x + w) // 2]
            whole[2][y // 2 : (y + h) // 2, x // 2 : (x + w) // 2]

    # The floor of any exporter: NumPy making its 30 arrays from buffer
    # exports that already exist (memoryviews made beforehand), with no
    # memview code run at all.
    made = [memoryview(p) for x, y, w, h in ZONES for p in frame.roi(x, y, w, h).planes]

    def floor():
        for m in made:
            np.asarray(m)

    res = rounds(lambda: per_call(ours), lambda: per_call(numpy))
    low = per_call(floor)
    for m in made:
        m.release()
    frame.release()
    cap.close()
    return res + (low,)


def recv_to_array():
    import av

    cap = memview.Capture("synthetic", size=(1920, 1080), frames=None, buffers=3)

    frame = cap.recv()

    # The frame is captured: what is timed is handing it to NumPy (the
    # capture itself is the source's cost, the same for either library).
    def ours():
        np.asarray(frame.planes[0])

    vf = av.VideoFrame(1920, 1080, "yuv420p")

    def pyav():
        vf.to_ndarray()

    res = rounds(lambda: per_call(ours), lambda: per_call(pyav))
    frame.release()
    cap.close()
    return res


def run_against_cli(repo):
    binary = repo / "target" / "release" / "memview"
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "memview-cli"], cwd=repo, check=True)

    zone_flags = [a for z in ZONES for a in ("--zone", ",".join(map(str, z)))]

    def cli():
        out = subprocess.run(
            [str(binary), "run", "--frames", "600", "--json", *zone_flags],
            capture_output=True, text=True, check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])["fps"]

    # The same job: the synthetic 1080p source, the same ten fixed zones,
    # the default analyzers, every core, 600 frames.

    def py():
        cap = memview.Capture("synthetic", size=(1920, 1080), frames=600, boxes=10)
        runner = memview.RoiRunner(ZONES, analyzers=("mean", "histogram", "motion"))
        t = time.perf_counter()
        n = runner.run(cap)
        fps = n / (time.perf_counter() - t)
        cap.close()
        return fps

    return rounds(cli, py)


def main():
    repo = Path(__file__).resolve().parents[2]
    a, b, r, low = rois_as_arrays()
    print(f"ten I420 ROIs (3 planes) as NumPy arrays: memview {a * 1e6:.1f} us, "
          f"NumPy slicing {b * 1e6:.1f} us: NumPy / memview = {r:.2f}x; "
          f"NumPy alone wrapping 30 ready exports {low * 1e6:.1f} us "
          f"(the most any exporter could reach: {b / low:.2f}x)")
    a, b, r = recv_to_array()
    print(f"a captured 1080p frame's luma to NumPy: memview asarray {a * 1e6:.2f} us, "
          f"PyAV to_ndarray {b * 1e6:.1f} us: PyAV / memview = {r:.2f}x")
    a, b, r = run_against_cli(repo)
    print(f"RoiRunner.run from Python {b:.0f} frames/s, memview run {a:.0f} frames/s: "
          f"Python / CLI = {r:.3f}")


if __name__ == "__main__":
    sys.exit(main())
