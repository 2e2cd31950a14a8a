"""ONNX Runtime sessions. ONNX has no model state, so the t2s cache travels as explicit tensors."""

from __future__ import annotations

import mmap

import numpy as np

from gsv_edge.runtime.vocoder import decoder_feed

# a private map can grow with mremap; Windows has no such flags (and no mremap: the fallback copies)
_PRIVATE_MAP = {"flags": mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS} if hasattr(mmap, "MAP_PRIVATE") else {}


class KVBuffer:
    """One cache input [1, heads, capacity, head_dim] that grows in place.

    It lives in a private anonymous memory map. Growing remaps its pages to a larger range (the kernel moves page
    table entries, no bytes) and then moves each head's kept rows to the head's new offset, last head first so
    that nothing is overwritten before it has moved. Allocating a larger array and copying into it instead cost
    16-26 ms per growth on the full-size GPT (fresh pages faulted in, the old array freed), four times in a
    230-token utterance, and held two copies of the buffer at once. Where memory maps cannot be resized (not
    Linux), it falls back to exactly that. Rows past the kept ones hold zeros or stale but finite numbers: the
    caller's mask hides them.
    """

    def __init__(self, heads: int, head_dim: int, capacity: int):
        self.heads, self.head_dim, self.capacity = heads, head_dim, capacity
        self._map = mmap.mmap(-1, self._bytes(capacity), **_PRIVATE_MAP)
        self.array = self._view()

    def _bytes(self, capacity: int) -> int:
        return self.heads * capacity * self.head_dim * np.dtype(np.float32).itemsize

    def _view(self) -> np.ndarray:
        return np.frombuffer(self._map, np.float32).reshape(1, self.heads, self.capacity, self.head_dim)

    def grow(self, capacity: int, kept: int) -> None:
        """Make room for ``capacity`` rows per head, keeping each head's first ``kept`` rows."""
        old, block = self.capacity, kept * self.head_dim
        self.array = None  # type: ignore[assignment]  # a map cannot be resized while a view exports it
        try:
            self._map.resize(self._bytes(capacity))
        except (OSError, SystemError, ValueError):  # no mremap here: a new map, and copy
            kept_rows = np.frombuffer(self._map, np.float32).reshape(self.heads, old, self.head_dim)[:, :kept].copy()
            self._map = mmap.mmap(-1, self._bytes(capacity), **_PRIVATE_MAP)
            self.capacity = capacity
            self.array = self._view()
            self.array[0, :, :kept] = kept_rows
            return
        flat = np.frombuffer(self._map, np.float32)
        for head in range(self.heads - 1, 0, -1):  # head 0 stays where it is
            flat[head * capacity * self.head_dim : head * capacity * self.head_dim + block] = flat[
                head * old * self.head_dim : head * old * self.head_dim + block
            ]
        del flat
        self.capacity = capacity
        self._drop_unused_pages(kept)
        self.array = self._view()

    def _drop_unused_pages(self, kept: int) -> None:
        """Hand back the whole pages past each head's kept rows: they hold stale copies after the moves, and would
        stay resident (about 2 MB over a bench sentence), where slots never written are not."""
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        row_bytes, page = self.head_dim * np.dtype(np.float32).itemsize, mmap.PAGESIZE
        for head in range(self.heads):
            start = -(-(head * self.capacity + kept) * row_bytes // page) * page
            end = (head + 1) * self.capacity * row_bytes // page * page
            if end > start:
                self._map.madvise(mmap.MADV_DONTNEED, start, end - start)


class OnnxT2S:
    """The t2s graph with its KV cache in buffers held here between calls.

    The graph takes each layer's whole reserved buffer [1, heads, capacity, head_dim], attends with the unused
    slots masked, and returns only the new rows, which are written into the buffers in place: one copy of the
    cache, nothing copied per token. Capacity grows in steps of ``CAPACITY_STEP`` rows, in place (``KVBuffer``).
    """

    CAPACITY_STEP = 64

    def __init__(self, session):
        self._session = session
        self._past = [i.name for i in session.get_inputs() if i.name.startswith("past_")]
        self._outputs = ["logits", *[name.replace("past_", "new_") for name in self._past]]
        shape = session.get_inputs()[2].shape  # [1, heads, capacity, head_dim]
        self._heads, self._head_dim = int(shape[1]), int(shape[3])
        self._cache: list[KVBuffer] = []
        self._length = 0
        self.reset()

    def reset(self) -> None:
        """Forget the cached rows; the buffers shrink back to ``CAPACITY_STEP`` rows."""
        self._cache = [KVBuffer(self._heads, self._head_dim, self.CAPACITY_STEP) for _ in self._past]
        self._length = 0

    def run(self, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        count, length = rows.shape[1], self._length
        if length == 0:  # a prefill: no past slots at all, so its scores span only its own rows
            empty = np.zeros((1, self._heads, 0, self._head_dim), np.float32)
            arrays, full_mask = [empty] * len(self._past), mask
        else:
            self._reserve(length + count)
            arrays, capacity = [buffer.array for buffer in self._cache], self._cache[0].capacity
            # [past slots | unused slots (hidden) | new rows]: the caller's mask covers the past and the new rows
            full_mask = np.full((1, 1, count, capacity + count), -np.inf, dtype=np.float32)
            full_mask[..., :length] = mask[..., :length]
            full_mask[..., capacity:] = mask[..., length:]
        cache = dict(zip(self._past, arrays, strict=True))
        outputs = self._session.run(self._outputs, {"x": rows, "mask": full_mask, **cache})
        del arrays, cache  # views of the buffers: a buffer cannot grow while one is alive
        self._reserve(length + count)
        for buffer, new in zip(self._cache, outputs[1:], strict=True):
            buffer.array[:, :, length : length + count] = new
        self._length = length + count
        return outputs[0][0]

    def _reserve(self, rows: int) -> None:
        """Make every buffer hold ``rows`` rows (the cached ones plus this call's)."""
        if rows <= self._cache[0].capacity:
            return
        capacity = -(-rows // self.CAPACITY_STEP) * self.CAPACITY_STEP
        for buffer in self._cache:
            buffer.grow(capacity, self._length)


class OnnxSoVITSEncoder:
    """sovits_enc: tokens + phones + speaker → the prior (m, logs)."""

    def __init__(self, session):
        self._session = session

    def run(self, codes, phones, ge):
        m, logs = self._session.run(["m", "logs"], {"codes": codes, "phones": phones, "ge": ge})
        return m[0], logs[0]


class OnnxSoVITSDecoder:
    """sovits_dec: prior sample → audio."""

    def __init__(self, session):
        self._session = session

    def run(self, z_p, ge, frames: int | None = None) -> np.ndarray:
        return self._session.run(["audio"], decoder_feed(z_p, ge, frames))[0][0]
