"""The OpenCV-Python peer of `memview run` on a Y4M file (`cargo xtask
bench --streams`): what users write today. Frames are read with
`readinto` into one reused buffer, viewed with `np.frombuffer`, and the
same zones as memview's default grid get memview's default analyzers
(histogram with mean and variance, and motion against the previous
frame), with OpenCV.

    streams.py file FILE.y4m          as fast as it goes
    streams.py paced FILE.y4m FRAMES  at the file's frame rate, as a camera

Prints one JSON line: frames, seconds, fps, dropped (paced: frames whose
time had passed before the previous one was done, skipped as memview's
keep-latest policy skips them), and the per-frame analysis time's p50 and
p99 in microseconds.
"""

import json
import math
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)


def header(f):
    line = f.readline()
    fields = line.decode().split()
    assert fields[0] == "YUV4MPEG2", line
    w = h = None
    rate = (30, 1)
    for t in fields[1:]:
        if t[0] == "W":
            w = int(t[1:])
        elif t[0] == "H":
            h = int(t[1:])
        elif t[0] == "F":
            n, d = t[1:].split(":")
            rate = (int(n), int(d))
    return w, h, rate


def grid(n, w, h):
    """memview's grid of `n` zones of up to 200x200 (memview-cli stream.rs)."""
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, -(-n // cols))
    cw, ch = w // cols, h // rows
    zw, zh = min(cw, 200), min(ch, 200)
    return [
        ((i % cols) * cw + (cw - zw) // 2, (i // cols) * ch + (ch - zh) // 2, zw, zh)
        for i in range(n)
    ]


def main():
    mode, path = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    f = open(path, "rb", buffering=0)
    w, h, (rn, rd) = header(f)
    zones = grid(10, w, h)
    frame = w * h * 3 // 2
    bufs = [bytearray(frame), bytearray(frame)]
    line = bytearray(6)
    period = rd / rn
    times = []
    frames = dropped = 0
    start = time.perf_counter()
    prev = None
    i = 0
    while limit is None or frames + dropped < limit:
        if f.readinto(line) != 6:
            break
        buf = bufs[i % 2]
        if f.readinto(buf) != frame:
            break
        due = start + i * period
        i += 1
        if mode == "paced":
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            elif now - due > period:
                # A frame whose successor is already due: skipped.
                dropped += 1
                continue
        t0 = time.perf_counter()
        y = np.frombuffer(buf, np.uint8, w * h).reshape(h, w)
        for x, yy, zw, zh in zones:
            z = y[yy : yy + zh, x : x + zw]
            hist = cv2.calcHist([z], [0], None, [256], [0, 256])
            mean, std = cv2.meanStdDev(z)
            if prev is not None:
                cv2.norm(z, prev[yy : yy + zh, x : x + zw], cv2.NORM_L1)
        prev = y
        times.append(time.perf_counter() - t0)
        frames += 1
    secs = time.perf_counter() - start
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))] * 1e6 if times else None
    print(
        json.dumps(
            {
                "frames": frames,
                "seconds": secs,
                "fps": frames / secs,
                "dropped": dropped,
                "p50_us": q(0.5),
                "p99_us": q(0.99),
            }
        )
    )


main()
