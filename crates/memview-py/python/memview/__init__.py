"""memview: zero-copy video frames, planes and ROIs over Python's buffer
protocol, memview's format strings, and the Rust ROI runner.

    import numpy as np
    import memview

    with memview.Capture("synthetic", size=(640, 360), frames=10) as cap:
        for frame in cap:
            y = np.asarray(frame.planes[0])          # the pool's bytes, no copy
            face = frame.roi(100, 50, 64, 64)
            u = np.asarray(face.planes[1])           # a strided view of U
            frame.release()
"""

import struct as _struct


class FormatError(_struct.error):
    """A bad format string or values: a `struct.error`, with the byte
    offset of the problem in `offset` where there is one."""

    offset = None


from ._memview import (  # noqa: E402
    ByteArray,
    Capture,
    Column,
    Format,
    Frame,
    MemviewError,
    Plane,
    Results,
    Roi,
    RoiRunner,
    View,
)

__all__ = [
    "ByteArray",
    "Capture",
    "Column",
    "Format",
    "FormatError",
    "Frame",
    "MemviewError",
    "Plane",
    "Results",
    "Roi",
    "RoiRunner",
    "View",
]
