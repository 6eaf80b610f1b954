"""The peers' side of `cargo xtask bench --peers`: CPython's struct and
memoryview, NumPy and OpenCV doing memview's workloads.

Reads one `workload:peer` per line on stdin and answers one line: the
median nanoseconds per iteration (or a JSON object for `memory:numpy`).
The workloads mirror benches/peers.rs: the same ten 200x200 zones of a
1080p I420 frame of uniform noise, the same calibration (batches of at
least 20 ms, the median of seven).
"""

import json
import struct
import sys
import time
import tracemalloc

import numpy as np

try:
    import cv2

    cv2.setNumThreads(1)
except ImportError:  # OpenCV is optional: its rows then say "n/a".
    cv2 = None

W, H = 1920, 1080
ZONES = [(100 + 170 * i, 80 + 80 * i, 200, 200) for i in range(10)]
FORMATS = ["<HHI", "@iqd", "=4s2h", ">bhlqf"]


def measure(f):
    for _ in range(3):
        f()
    n = 1
    while True:
        t = time.perf_counter_ns()
        for _ in range(n):
            f()
        if time.perf_counter_ns() - t >= 20_000_000 or n >= 1 << 30:
            break
        n *= 2
    samples = []
    for _ in range(7):
        t = time.perf_counter_ns()
        for _ in range(n):
            f()
        samples.append((time.perf_counter_ns() - t) / n)
    samples.sort()
    return samples[3]


def i420(seed):
    """A 1080p I420 frame of noise as (buffer, y, u, v) plane arrays."""
    buf = np.random.default_rng(seed).integers(0, 256, W * H * 3 // 2, dtype=np.uint8)
    y = buf[: W * H].reshape(H, W)
    u = buf[W * H : W * H * 5 // 4].reshape(H // 2, W // 2)
    v = buf[W * H * 5 // 4 :].reshape(H // 2, W // 2)
    return buf, y, u, v


def zone_planes(planes, z):
    x, yy, w, h = z
    y, u, v = planes
    return (
        y[yy : yy + h, x : x + w],
        u[yy // 2 : (yy + h) // 2, x // 2 : (x + w) // 2],
        v[yy // 2 : (yy + h) // 2, x // 2 : (x + w) // 2],
    )


def main():
    buf, y, u, v = i420(1)
    planes = (y, u, v)
    _, y2, _, _ = i420(2)
    flat = memoryview(buf.tobytes())

    def parse():
        for f in FORMATS:
            struct.Struct(f)

    def view_1_numpy():
        return y[400:600, 800:1000]

    def view_1_memoryview():
        # memoryview has no 2-D slicing or sub-views: one 1-D slice per
        # row of the zone.
        return [flat[r * W + 800 : r * W + 1000] for r in range(400, 600)]

    def view_10_numpy():
        for z in ZONES:
            zone_planes(planes, z)

    def copy_10_numpy():
        return [np.ascontiguousarray(p) for z in ZONES for p in zone_planes(planes, z)]

    cur_prev = [y, y2]
    state = {"i": 0}

    def zones_now_and_before():
        """Each zone's luma in this frame and the previous one (the two
        frames alternate, as memview's runner sees them)."""
        state["i"] += 1
        a, b = cur_prev[state["i"] % 2], cur_prev[(state["i"] + 1) % 2]
        for x, yy, w, h in ZONES:
            yield a[yy : yy + h, x : x + w], b[yy : yy + h, x : x + w]

    def analyzers_numpy():
        for z, p in zones_now_and_before():
            z.mean()
            z.var()
            np.bincount(z.ravel(), minlength=256)
            np.abs(z.astype(np.int16) - p).sum()

    def analyzers_opencv():
        for z, p in zones_now_and_before():
            cv2.mean(z)
            cv2.calcHist([z], [0], None, [256], [0, 256])
            cv2.norm(z, p, cv2.NORM_L1)

    yuv = buf.reshape(H * 3 // 2, W)

    def convert_opencv():
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)

    bgr = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420) if cv2 else None
    rgb = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420) if cv2 else None
    zone_rgbs = [np.ascontiguousarray(rgb[yy : yy + h, x : x + w]) for x, yy, w, h in ZONES] if cv2 else []

    def tensor_10_opencv_i420():
        """What a user of OpenCV writes: the frame to BGR, then the ten
        zones into one 10x3x112x112 blob."""
        b = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
        zs = [b[yy : yy + h, x : x + w] for x, yy, w, h in ZONES]
        return cv2.dnn.blobFromImages(zs, 1.0 / 128.0, (112, 112), (127.5, 127.5, 127.5), swapRB=True)

    def tensor_10_opencv_bgr():
        zs = [bgr[yy : yy + h, x : x + w] for x, yy, w, h in ZONES]
        return cv2.dnn.blobFromImages(zs, 1.0 / 128.0, (112, 112), (127.5, 127.5, 127.5), swapRB=True)

    def tensor_10_opencv_bgr_reused():
        zs = [bgr[yy : yy + h, x : x + w] for x, yy, w, h in ZONES]
        return cv2.dnn.blobFromImagesWithParams(zs, blob_10, classifier)

    # The same blob into one array made once (the `blob` overload of
    # blobFromImagesWithParams): OpenCV without allocating its 1.5 MB
    # output per call, whose page faults cost more than the work on some
    # hosts. The result is checked equal to blobFromImages'.
    classifier = blob_10 = None
    if cv2:
        classifier = cv2.dnn.Image2BlobParams()
        classifier.size = (112, 112)
        classifier.scalefactor = (1.0 / 128.0,) * 3 + (1.0,)
        classifier.mean = (127.5,) * 3 + (0.0,)
        classifier.swapRB = True
        blob_10 = np.zeros_like(tensor_10_opencv_bgr())
        if not np.array_equal(tensor_10_opencv_bgr(), tensor_10_opencv_bgr_reused()):
            raise SystemExit("blobFromImagesWithParams into a reused blob differs")

    letterbox = None
    if cv2:
        letterbox = cv2.dnn.Image2BlobParams()
        letterbox.size = (640, 640)
        letterbox.scalefactor = (1.0 / 255.0,) * 3 + (1.0,)
        letterbox.swapRB = True
        letterbox.paddingmode = cv2.dnn.DNN_PMODE_LETTERBOX

    def letterbox_640_opencv_bgr():
        return cv2.dnn.blobFromImageWithParams(bgr, letterbox)

    blob_640 = np.zeros_like(letterbox_640_opencv_bgr()) if cv2 else None

    def letterbox_640_opencv_bgr_reused():
        return cv2.dnn.blobFromImageWithParams(bgr, blob_640, letterbox)

    if cv2 and not np.array_equal(letterbox_640_opencv_bgr(), letterbox_640_opencv_bgr_reused()):
        raise SystemExit("blobFromImageWithParams into a reused blob differs")

    def resize_10_opencv():
        return [cv2.resize(z, (112, 112), interpolation=cv2.INTER_LINEAR) for z in zone_rgbs]

    def memory_numpy():
        """120 frames through the NumPy copy pipeline: the zones copied out
        and analysed. Peak traced heap (tracemalloc sees NumPy's data) and
        the bytes the copies take per frame."""
        frames = [i420(s)[1:] for s in (3, 4, 5)]
        tracemalloc.start()
        tracemalloc.reset_peak()
        prev = None
        copied = 0
        arrays = 0
        for i in range(130):
            cur = [np.ascontiguousarray(p) for z in ZONES for p in zone_planes(frames[i % 3], z)]
            if i >= 10:
                copied += sum(c.nbytes for c in cur)
                arrays += len(cur)
            for k in range(0, len(cur), 3):
                z = cur[k]
                z.mean()
                z.var()
                np.bincount(z.ravel(), minlength=256)
                if prev is not None:
                    np.abs(z.astype(np.int16) - prev[k]).sum()
            prev = cur
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        frame_bytes = sum(p.nbytes for f in frames for p in f)
        return json.dumps(
            {
                "copies_per_frame": arrays / 120,
                "copied_bytes_per_frame": copied / 120,
                "heap_peak_bytes": peak + frame_bytes,
            }
        )

    table = {
        "parse:struct": parse,
        "view_1:numpy": view_1_numpy,
        "view_1:memoryview": view_1_memoryview,
        "view_10:numpy": view_10_numpy,
        "copy_10:numpy": copy_10_numpy,
        "analyzers:numpy": analyzers_numpy,
        "analyzers:opencv": analyzers_opencv,
        "convert:opencv": convert_opencv,
        "tensor_10:opencv_i420": tensor_10_opencv_i420,
        "tensor_10:opencv_bgr": tensor_10_opencv_bgr,
        "tensor_10:opencv_bgr_reused": tensor_10_opencv_bgr_reused,
        "letterbox_640:opencv_bgr": letterbox_640_opencv_bgr,
        "letterbox_640:opencv_bgr_reused": letterbox_640_opencv_bgr_reused,
        "resize_10:opencv": resize_10_opencv,
    }
    for line in sys.stdin:
        name = line.strip()
        if name in ("", "quit"):
            break
        if name == "memory:numpy":
            answer = memory_numpy()
        elif name == "versions":
            answer = json.dumps(
                {
                    "python": sys.version.split()[0],
                    "numpy": np.__version__,
                    "opencv": cv2.__version__ if cv2 else None,
                }
            )
        elif name.endswith(":opencv") and cv2 is None:
            answer = "n/a"
        elif name in table:
            answer = str(measure(table[name]))
        else:
            answer = "error unknown workload " + name
        print(answer, flush=True)


if __name__ == "__main__":
    main()
