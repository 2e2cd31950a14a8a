"""ONNX Runtime sessions. ONNX has no model state, so the t2s cache travels as explicit tensors."""

from __future__ import annotations

import mmap

import numpy as np

from gsv_edge.runtime.vocoder import decoder_feed

# a private map can grow with mremap; Windows has no such flags (and no mremap: the fallback copies)
_PRIVATE_MAP = {"flags": mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS} if hasattr(mmap, "MAP_PRIVATE") else {}


class KVBuffer:
    """One cache input [slots, heads, capacity, head_dim] that grows in place: one slot per stream (one for a solo
    session, one per batch row in ``runtime.batching``).

    It lives in a private anonymous memory map. Growing the capacity remaps its pages to a larger range (the
    kernel moves page table entries, no bytes) and then moves each (slot, head) lane's kept rows to the lane's new
    offset, last lane first so that nothing is overwritten before it has moved. Allocating a larger array and
    copying into it instead cost 16-26 ms per growth on the full-size GPT (fresh pages faulted in, the old array
    freed), four times in a 230-token utterance, and held two copies of the buffer at once. Adding slots only
    extends the map. Where memory maps cannot be resized (not Linux), it falls back to a new map and a copy. Rows
    past the kept ones hold zeros or stale but finite numbers: the caller's mask hides them.
    """

    def __init__(self, heads: int, head_dim: int, capacity: int, slots: int = 1):
        self.heads, self.head_dim, self.capacity, self.slots = heads, head_dim, capacity, slots
        self._map = mmap.mmap(-1, self._bytes(capacity, slots), **_PRIVATE_MAP)
        self.array = self._view()

    def _bytes(self, capacity: int, slots: int) -> int:
        return slots * self.heads * capacity * self.head_dim * np.dtype(np.float32).itemsize

    def _view(self) -> np.ndarray:
        view = np.frombuffer(self._map, np.float32).reshape(self.slots, self.heads, self.capacity, self.head_dim)
        # where the buffer lives now, for memory accounting from other threads (a view there would stop a resize)
        self.address, self.nbytes = view.__array_interface__["data"][0], view.nbytes
        return view

    def _resize(self, capacity: int, slots: int) -> bool:
        """Resize the map in place (True), or replace it by a new one holding the old lanes' first rows (False)."""
        self.array = None  # type: ignore[assignment]  # a map cannot be resized while a view exports it
        try:
            self._map.resize(self._bytes(capacity, slots))
            return True
        except (OSError, SystemError, ValueError):  # no mremap here: a new map, and copy
            old = np.frombuffer(self._map, np.float32).reshape(self.slots, self.heads, self.capacity, self.head_dim)
            kept = min(self.capacity, capacity)
            kept_rows = old[: min(self.slots, slots), :, :kept].copy()
            del old
            self._map = mmap.mmap(-1, self._bytes(capacity, slots), **_PRIVATE_MAP)
            self.capacity, self.slots = capacity, slots
            self.array = self._view()
            self.array[: len(kept_rows), :, :kept] = kept_rows
            return False

    def grow(self, capacity: int, kept: int, used_slots: int | None = None) -> None:
        """Make room for ``capacity`` rows per lane, keeping each lane's first ``kept`` rows in the first
        ``used_slots`` slots (default: all); the other slots come out empty."""
        used = self.slots if used_slots is None else used_slots
        old, block = self.capacity, kept * self.head_dim
        if not self._resize(capacity, self.slots):
            return
        flat = np.frombuffer(self._map, np.float32)
        for lane in range(used * self.heads - 1, 0, -1):  # lane 0 stays where it is
            flat[lane * capacity * self.head_dim : lane * capacity * self.head_dim + block] = flat[
                lane * old * self.head_dim : lane * old * self.head_dim + block
            ]
        del flat
        self.capacity = capacity
        self._drop_unused_pages(kept, used)
        self.array = self._view()

    def add_slots(self, slots: int) -> None:
        """Room for ``slots`` streams: the new slots come after the old ones, so nothing moves."""
        if slots > self.slots and self._resize(self.capacity, slots):
            self.slots = slots
            self.array = self._view()

    def move_slot(self, source: int, target: int, rows: int) -> None:
        """Copy slot ``source``'s first ``rows`` rows into slot ``target`` (a batch closing a gap), and hand back
        the pages of ``source``, and those of ``target`` past the rows it now holds."""
        self.release_slot(target)  # the departed stream's rows may reach further than the moved stream's
        self.array[target, :, :rows] = self.array[source, :, :rows]
        self.release_slot(source)

    def release_slot(self, slot: int) -> None:
        """Hand back the whole pages of slot ``slot`` (it holds no stream any more; they read as zeros again)."""
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        slot_bytes, page = self._bytes(self.capacity, 1), mmap.PAGESIZE
        start = -(-slot * slot_bytes // page) * page
        end = (slot + 1) * slot_bytes // page * page
        if end > start:
            self._map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def _drop_unused_pages(self, kept: int, used_slots: int) -> None:
        """Hand back the whole pages past each lane's kept rows, and all of the unused slots' pages: they hold
        stale copies after the moves, and would stay resident (about 2 MB over a bench sentence), where rows never
        written are not."""
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        row_bytes, page = self.head_dim * np.dtype(np.float32).itemsize, mmap.PAGESIZE
        for lane in range(self.slots * self.heads):
            rows = kept if lane < used_slots * self.heads else 0
            start = -(-(lane * self.capacity + rows) * row_bytes // page) * page
            end = (lane + 1) * self.capacity * row_bytes // page * page
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
        shape = session.get_inputs()[2].shape  # [batch, heads, capacity, head_dim]
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
