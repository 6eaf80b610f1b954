"""memview's Python package against CPython's memoryview, struct and NumPy."""

import gc
import os
import resource
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import memview


def capture(**kw):
    kw.setdefault("size", (160, 96))
    kw.setdefault("frames", 8)
    kw.setdefault("boxes", 3)
    return memview.Capture("synthetic", **kw)


def test_planes_and_rois_export_the_pools_bytes():
    with capture() as cap:
        frame = cap.recv()
        assert frame.pixel_format == "I420" and frame.size == (160, 96)
        whole = [np.asarray(p) for p in frame.planes]
        assert [a.shape for a in whole] == [(96, 160), (48, 80), (48, 80)]
        for p, a in zip(frame.planes, whole):
            m = memoryview(p)
            assert m.format == "B" and m.readonly and m.ndim == 2
            assert m.shape == a.shape and m.strides == a.strides
            assert m.c_contiguous
            assert m.tobytes() == a.tobytes()
            assert m.tolist() == a.tolist()
            assert not a.flags.writeable
        # An ROI at odd coordinates snaps outward to the chroma grid; its
        # planes are strided views of the same bytes.
        roi = frame.roi(3, 5, 41, 30)
        x, y, w, h = roi.effective
        assert roi.requested == (3, 5, 41, 30)
        assert (x, y, w, h) == (2, 4, 42, 32)
        views = [np.asarray(p) for p in roi.planes]
        want = [
            whole[0][y : y + h, x : x + w],
            whole[1][y // 2 : (y + h) // 2, x // 2 : (x + w) // 2],
            whole[2][y // 2 : (y + h) // 2, x // 2 : (x + w) // 2],
        ]
        for v, s in zip(views, want):
            assert v.shape == s.shape and v.strides == s.strides
            assert np.array_equal(v, s)
            assert np.shares_memory(v, s), "an ROI is the frame's bytes, not a copy"
            m = memoryview(v)
            assert not m.c_contiguous and m.strides == s.strides
            assert m.tolist() == s.tolist()
        frame.release()


def test_writes_are_refused():
    import ctypes

    with capture() as cap:
        frame = cap.recv()
        plane = frame.planes[0]
        with pytest.raises(TypeError):
            memoryview(plane)[0:1] = b"x"
        a = np.asarray(plane)
        with pytest.raises(ValueError):
            a[0, 0] = 1
        # A consumer that asks for a writable buffer is refused.
        with pytest.raises((TypeError, BufferError)):
            (ctypes.c_char * 1).from_buffer(plane)


def test_a_released_frame_raises_and_its_exports_stay_valid():
    with capture() as cap:
        frame = cap.recv()
        y = np.asarray(frame.planes[0])
        copy = y.copy()
        frame.release()
        assert frame.released
        with pytest.raises(ValueError, match="released"):
            frame.planes
        with pytest.raises(ValueError, match="released"):
            frame.roi(0, 0, 4, 4)
        assert np.array_equal(y, copy)


def test_a_held_export_keeps_its_buffer_out_of_the_pool():
    # Two buffers: an export of each starves the pool; releasing one
    # recycles it, and the held frame's bytes stay as they were.
    with capture(buffers=2, frames=50) as cap:
        f0 = cap.recv()
        a0 = np.asarray(f0.planes[0])
        keep0 = a0.copy()
        f0.release()
        del f0
        f1 = cap.recv()
        a1 = np.asarray(f1.planes[0])
        f1.release()
        del f1
        gc.collect()
        with pytest.raises(TimeoutError):
            cap.recv(timeout=0.3)
        del a1
        gc.collect()
        # Frames flow again through the one buffer released.
        for _ in range(10):
            f = cap.recv(timeout=5)
            assert f is not None
            f.release()
        assert np.array_equal(a0, keep0), "a buffer held by an export was refilled"


def test_stats_count_the_buffers_python_holds():
    with capture(buffers=4, frames=12) as cap:
        f0 = cap.recv()
        u = np.asarray(f0.roi(8, 8, 16, 16).planes[1])
        f0.release()
        del f0
        gc.collect()
        f1 = cap.recv()
        st = cap.stats()
        assert st["buffers"] == 4
        # f0's ROI plane (through the array) and f1; the producer fills
        # the rest ahead, so at least those two are out of the pool.
        assert 2 <= st["held"] <= 4, st
        assert st["captured"] >= st["delivered"] == 2, st
        f1.release()
        del f1
        # To the end of the stream: only the array's frame stays out.
        while (f := cap.recv(timeout=5)) is not None:
            f.release()
            del f
        gc.collect()
        st = cap.stats()
        assert st["held"] == 1 and st["delivered"] == 12 and st["recycled"] > 0, st
        del u
        gc.collect()
        assert cap.stats()["held"] == 0


def pixelated(plane, x, y, w, h, block):
    # NumPy's answer for one plane's ROI: each cell's rounded mean.
    out = plane.copy()
    roi = out[y : y + h, x : x + w]
    for cy in range(0, h, block[1]):
        for cx in range(0, w, block[0]):
            cell = roi[cy : cy + block[1], cx : cx + block[0]]
            cell[...] = (int(cell.astype(np.int64).sum()) + cell.size // 2) // cell.size
    return out


def test_masked_pixelates_zones_in_a_copy_as_numpy_does():
    with capture(size=(160, 96)) as cap:
        frame = cap.recv()
        before = np.asarray(frame).copy()
        zones = [(10, 6, 40, 30), (60, 40, 50, 41), (20, 20, 30, 30)]  # the last overlaps
        out = frame.masked(zones, block=8)
        assert np.array_equal(np.asarray(frame), before), "the frame is read-only"
        got = np.frombuffer(out.tobytes(), np.uint8)
        y = np.asarray(frame.planes[0]).copy()
        u = np.asarray(frame.planes[1]).copy()
        v = np.asarray(frame.planes[2]).copy()
        for z in zones:
            x0, y0, w, h = frame.roi(*z).effective
            y = pixelated(y, x0, y0, w, h, (8, 8))
            u = pixelated(u, x0 // 2, y0 // 2, w // 2, h // 2, (4, 4))
            v = pixelated(v, x0 // 2, y0 // 2, w // 2, h // 2, (4, 4))
        assert np.array_equal(got, np.concatenate([y.ravel(), u.ravel(), v.ravel()]))
        with pytest.raises(memview.MemviewError, match="leaves the 160x96 frame"):
            frame.masked([(150, 90, 20, 20)])
        frame.release()


def test_export_release_cycles_leak_nothing():
    with capture(frames=None) as cap:
        frame = cap.recv()
        plane = frame.planes[0]
        before = sys.getrefcount(plane)
        for _ in range(2000):
            memoryview(plane).release()
            np.asarray(plane)
        gc.collect()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(20000):
            m = memoryview(plane)
            a = np.asarray(m)
            del a
            m.release()
        gc.collect()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert sys.getrefcount(plane) == before
        assert rss1 - rss0 < 4096, f"RSS grew {rss1 - rss0} KiB over 20000 exports"
        frame.release()


def test_closing_a_capture_while_views_are_held_returns_promptly():
    script = textwrap.dedent(
        """
        import numpy as np, memview
        cap = memview.Capture("synthetic", size=(320, 240), buffers=2)
        held = [np.asarray(cap.recv().planes[0]) for _ in range(2)]
        cap.close()
        del cap
        print("closed", held[0].shape)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "closed (240, 320)"


def test_the_end_of_a_stream_is_none_and_iteration_stops():
    with capture(frames=5) as cap:
        seqs = [f.seq for f in cap]
    assert seqs == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="closed"):
        cap.recv()


def test_bad_sources_are_errors():
    with pytest.raises(memview.MemviewError, match="no-such.y4m"):
        memview.Capture("no-such.y4m")
    with pytest.raises(ValueError, match="policy"):
        memview.Capture("synthetic", policy="sometimes")


FORMATS = [
    "<HHI", "@iqd", "=4s2h", ">bhlqf", "!I", "<?", "@bH", "3x2s", "<e", "@P", "5p",
    "<Qd", "@cih", ">hhh", "@3b", "<7x", "@ldf", "@?x?", "=qQ", "<n" if False else "<q",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_formats_agree_with_struct(fmt):
    f = memview.Format(fmt)
    assert f.size == struct.calcsize(fmt)
    s = struct.Struct(fmt)
    data = bytes(range(1, s.size + 1))
    got = f.unpack(data)
    want = s.unpack(data)
    assert len(got) == f.items == len(want)
    for g, w in zip(got, want):
        if isinstance(w, float) and w != w:
            assert g != g
        else:
            assert g == w
    assert f.pack(*want) == s.pack(*want)


def test_format_errors_are_struct_errors_with_offsets():
    for fmt in ["<HHz", "@i q#", "3"]:
        with pytest.raises(struct.error):
            struct.calcsize(fmt)
        with pytest.raises(memview.FormatError) as e:
            memview.Format(fmt)
        assert isinstance(e.value, struct.error)
        assert isinstance(e.value.offset, int)
    with pytest.raises(struct.error):
        memview.Format("<H").pack(1 << 20)
    with pytest.raises(struct.error):
        memview.Format("<H").unpack(b"\x00")


def test_runner_results_equal_numpys():
    zones = [(0, 0, 40, 30), ("door", (50, 20, 33, 41)), (100, 60, 60, 36)]
    runner = memview.RoiRunner(zones, analyzers=("mean", "histogram", "motion", "edges"))
    assert runner.analyzers == ["histogram", "motion", "edges"]
    with capture() as cap:
        prev = None
        for _ in range(4):
            frame = cap.recv()
            y = np.asarray(frame.planes[0])
            res = runner.process(frame)
            assert res.ids == ["zone0", "door", "zone2"]
            assert res.errors == [None] * 3
            mean = np.asarray(res.mean)
            var = np.asarray(res.variance)
            hist = np.asarray(res.histogram)
            motion = np.asarray(res.motion)
            assert mean.dtype == np.float64 and hist.shape == (3, 256)
            assert memoryview(res.histogram).format == "I" and hist.dtype == np.uint32
            for i, z in enumerate(zones):
                # The zone as analysed: snapped outward to the chroma grid.
                x, y0, w, h = frame.roi(*(z if isinstance(z[0], int) else z[1])).effective
                zone = y[y0 : y0 + h, x : x + w].astype(np.int64)
                assert mean[i] == pytest.approx(zone.mean(), abs=1e-9)
                assert var[i] == pytest.approx(zone.var(), abs=1e-6)
                assert np.array_equal(hist[i], np.bincount(zone.ravel(), minlength=256))
                if prev is not None:
                    old = prev[y0 : y0 + h, x : x + w].astype(np.int64)
                    assert motion[i] == np.abs(zone - old).sum()
                else:
                    assert motion[i] == 0
            prev = y.copy()
            frame.release()


def test_zones_outside_the_frame_are_per_zone_errors():
    runner = memview.RoiRunner([(0, 0, 8, 8), (150, 90, 40, 40)], analyzers=("mean",))
    with capture() as cap:
        res = runner.process(cap.recv())
    assert res.errors[0] is None
    assert "leaves the 160x96 frame" in res.errors[1]
    with pytest.raises(ValueError, match="unknown analyzer"):
        memview.RoiRunner([(0, 0, 8, 8)], analyzers=("nope",))
    with pytest.raises(ValueError, match="a zone is"):
        memview.RoiRunner([(0, 0, 8)])


def test_the_readme_example_runs():
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "..", "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    start = text.index("```python\n") + len("```python\n")
    code = text[start : text.index("```", start)]
    assert "memview.Capture" in code
    exec(compile(code, "README.md", "exec"), {})


def test_a_frame_exports_its_whole_buffer():
    with capture() as cap:
        frame = cap.recv()
        m = memoryview(frame)
        planes = b"".join(memoryview(p).tobytes() for p in frame.planes)
        assert m.readonly and m.format == "B" and m.ndim == 1
        assert m.tobytes() == planes
        frame.release()
        # The export outlives the frame object's lease.
        assert m.tobytes() == planes
        m.release()


def test_run_drives_a_stream_with_callbacks():
    zones = [(0, 0, 40, 30), (60, 20, 40, 40)]
    seen = []
    with capture(frames=12) as cap:
        runner = memview.RoiRunner(zones, analyzers=("mean", "motion"))
        n = runner.run(cap, callback=lambda r: seen.append((r.seq, list(np.asarray(r.mean)))), every=3)
    assert n == 12
    assert [s for s, _ in seen] == [2, 5, 8, 11]
    # The same frames through process() give the same numbers.
    with capture(frames=12) as cap:
        runner = memview.RoiRunner(zones, analyzers=("mean", "motion"))
        want = {}
        for f in cap:
            want[f.seq] = list(np.asarray(runner.process(f).mean))
            f.release()
    for seq, means in seen:
        assert means == want[seq]
    with capture(frames=50) as cap:
        assert memview.RoiRunner(zones).run(cap, frames=7) == 7
        with pytest.raises(ValueError, match="every"):
            memview.RoiRunner(zones).run(cap, every=0)


def test_the_gil_is_released_while_rust_works():
    import threading
    import time

    count = 0
    stop = False

    def spin():
        nonlocal count
        while not stop:
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        c0 = count
        time.sleep(0.3)
        idle_rate = (count - c0) / 0.3
        runner = memview.RoiRunner([(0, 0, 640, 360)] * 4, analyzers=("histogram", "edges"), threads=1)
        with memview.Capture("synthetic", size=(1920, 1080), frames=40) as cap:
            c0, t0 = count, time.perf_counter()
            runner.run(cap)
            busy_rate = (count - c0) / (time.perf_counter() - t0)
    finally:
        stop = True
        t.join()
    # With the GIL held the spinning thread would barely run.
    assert busy_rate > 0.2 * idle_rate, (busy_rate, idle_rate)


def test_the_seeds_example_agrees_with_memoryview():
    import array

    a = array.array("i", [10, 20, 30, 40])
    assert memview.View(a)[1:3].tolist() == memoryview(a)[1:3].tolist() == [20, 30]
    assert memview.View(a)[2] == memoryview(a)[2] == 30


SOURCES = [
    lambda: bytes(range(24)),
    lambda: bytearray(range(12)),
    lambda: np.arange(24, dtype=np.int32).reshape(4, 6),
    lambda: np.arange(24, dtype=np.float64).reshape(2, 3, 4)[:, ::-1, ::2],
    lambda: np.arange(30, dtype=np.uint16).reshape(5, 6)[::-2, 1:],
    lambda: np.broadcast_to(np.arange(3, dtype=np.int64), (4, 3)),
    lambda: np.arange(10, dtype=np.int8)[::3],
]


@pytest.mark.parametrize("make", SOURCES)
def test_imports_agree_with_memoryview_and_numpy(make):
    obj = make()
    m = memoryview(obj)
    v = memview.View(obj)
    assert (v.format, v.itemsize, v.shape, v.strides, v.ndim) == (
        m.format,
        m.itemsize,
        list(m.shape),
        list(m.strides),
        m.ndim,
    )
    assert v.tolist() == m.tolist()
    assert v.tobytes() == m.tobytes()
    assert v.c_contiguous == m.c_contiguous
    # The view exports the same bytes again, without a copy.
    back = np.asarray(v)
    assert np.array_equal(back, np.asarray(m))
    assert np.shares_memory(back, np.asarray(m))
    # Slicing as memoryview slices.
    if m.ndim == 1 and len(m) > 2:
        assert v[1:-1:2].tolist() == m[1:-1:2].tolist()
        assert v[-1] == m[-1]
    if m.ndim >= 2:
        assert v[1:, ::-1].tolist() == np.asarray(obj)[1:, ::-1].tolist()
        idx = (0,) * m.ndim
        assert v[idx] == m[idx]


def test_strict_formats_with_bytes_as_the_escape_hatch():
    big = np.arange(4, dtype=">i4")
    with pytest.raises(TypeError, match='not "i"'):
        memview.View(big, format="i")
    assert memview.View(big).format == ">i"
    raw = memview.View(np.arange(4, dtype=np.float64), format="B")
    assert raw.shape == [32] and raw.format == "B"
    assert raw.tobytes() == np.arange(4, dtype=np.float64).tobytes()
    with pytest.raises(TypeError):
        memview.View(np.arange(8, dtype=np.float64)[::2], format="B")
    # cast, as memoryview's.
    m = memoryview(bytes(range(8)))
    v = memview.View(bytes(range(8)))
    assert v.cast("H").tolist() == m.cast("H").tolist()
    assert v.cast("B", [2, 4]).tolist() == m.cast("B", [2, 4]).tolist()
    with pytest.raises(TypeError):
        v.cast("H")[::2].cast("B")
    with pytest.raises(IndexError):
        v[8]


def test_bytearray_refuses_to_resize_while_exported_as_bytearray_does():
    ours, theirs = memview.ByteArray(8), bytearray(8)
    m1, m2 = memoryview(ours), memoryview(theirs)
    assert ours.exports == 1
    with pytest.raises(BufferError) as a:
        ours.resize(16)
    with pytest.raises(BufferError) as b:
        theirs.extend(b"x" * 8)
    assert str(a.value) == str(b.value) == "Existing exports of data: object cannot be re-sized"
    arr = np.asarray(ours)
    assert ours.exports == 2 and arr.shape == (8,)
    del arr
    gc.collect()
    m1.release()
    m2.release()
    assert ours.exports == 0
    ours.resize(16)
    ours.extend(b"\x01\x02")
    assert len(ours) == 18 and ours.tobytes() == bytes(16) + b"\x01\x02"
    assert memview.View(ours).tolist() == list(bytes(16) + b"\x01\x02")


def test_formats_over_a_generated_set_agree_with_struct():
    import random

    rng = random.Random(14)
    codes = "xcbB?hHiIlLqQnNefdspP"
    agreed = refused = 0
    for _ in range(3000):
        order = rng.choice(["", "@", "=", "<", ">", "!"])
        parts = []
        for _ in range(rng.randint(1, 5)):
            count = rng.choice(["", "", "0", "1", "2", "3", "7"])
            parts.append(count + rng.choice(codes))
        fmt = order + "".join(parts)
        if rng.random() < 0.05:
            fmt += rng.choice(["z", " ", "2", "{", "@"])
        try:
            s = struct.Struct(fmt)
        except struct.error:
            with pytest.raises(struct.error):
                memview.Format(fmt)
            refused += 1
            continue
        f = memview.Format(fmt)
        assert f.size == s.size, fmt
        data = bytes(rng.randrange(256) for _ in range(s.size))
        try:
            want = s.unpack(data)
        except SystemError:
            # CPython 3.11 fails on a zero-length Pascal string ("0p":
            # "Negative size passed to PyBytes_FromStringAndSize"); memview
            # gives an empty bytes there.
            assert "0p" in fmt, fmt
            assert b"" in f.unpack(data)
            continue
        got = f.unpack(data)
        assert len(got) == len(want) == f.items, fmt
        for g, w in zip(got, want):
            assert (g != g and w != w) or g == w, fmt
        assert f.pack(*want) == s.pack(*want), fmt
        agreed += 1
    assert agreed > 2000 and refused > 50, (agreed, refused)
