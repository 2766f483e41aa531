"""Vectorised text operations on numpy string arrays that also accept empty arrays.

``np.strings.zfill`` and ``np.strings.replace`` size their output from the input
and fail on empty arrays; chunked generation meets empty selections often.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def zfill(a: np.ndarray, width: int) -> np.ndarray:
    """Left-pad with zeros to ``width`` characters."""
    a = np.asarray(a)
    if len(a) == 0:
        return a.astype(f"U{width}")
    return np.strings.zfill(a, width)


def replace(a: np.ndarray, old: str, new: str) -> np.ndarray:
    """Replace every ``old`` with ``new``."""
    a = np.asarray(a)
    if len(a) == 0:
        return a.copy()
    return np.strings.replace(a, old, new)


def to_pa(a: np.ndarray | pa.Array) -> pa.Array:
    """A column as an Arrow string array (``tolist`` is the fastest path from numpy text)."""
    if isinstance(a, pa.Array | pa.ChunkedArray):
        return a
    a = np.asarray(a)
    if a.dtype.kind in "iuf":
        return pa.array(a).cast(pa.string())
    if a.dtype.kind == "S":
        return ascii_pa(a)
    return pa.array(a.tolist(), pa.string())


def ascii_pa(a: np.ndarray) -> pa.Array:
    """Fixed-width ASCII bytes (numpy ``S``, NUL-padded) as Arrow strings, without Python objects.

    Compact storage for large ASCII columns (ID numbers, phones): 1 byte a character
    instead of the 4 of numpy ``U``.
    """
    a = np.ascontiguousarray(a)
    n, width = len(a), a.dtype.itemsize
    if n == 0 or width == 0:
        return pa.array([""] * n, pa.string())
    c = a.view(np.uint8).reshape(n, width)
    keep = c != 0  # numpy pads with NULs at the end; the values hold none
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(c[keep]))


def numbered(prefix: str, n: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, as Arrow strings."""
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(
        pa.array(np.asarray(n, dtype=np.int64)).cast(pa.string()), width, padding="0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def take(values: np.ndarray | pa.Array, idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as Arrow strings; cheap when ``values`` is a small lookup table."""
    return to_pa(values).take(pa.array(np.asarray(idx, dtype=np.int64)))


def constant(value: str, n: int) -> pa.Array:
    """An Arrow string array of ``n`` copies of ``value``."""
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))


def patch(base: pa.Array, clean: np.ndarray, dirty: np.ndarray) -> pa.Array:
    """``base`` (the clean values in Arrow) with the rows where ``dirty`` differs replaced."""
    import pyarrow.compute as pc

    diff = np.asarray(dirty != clean)
    if not diff.any():
        return base
    return pc.replace_with_mask(base, pa.array(diff), pa.array(dirty[diff].tolist(), pa.string()))


def map_values(a: pa.Array, mapping: dict[str, str]) -> pa.Array:
    """Replace values found in ``mapping``; keep the others."""
    import pyarrow.compute as pc

    keys = pa.array(list(mapping), pa.string())
    idx = pc.index_in(a, value_set=keys)
    return pc.coalesce(pa.array(list(mapping.values()), pa.string()).take(idx), a)
