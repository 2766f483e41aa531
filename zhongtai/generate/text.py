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
    return pa.array(a.tolist(), pa.string())


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
