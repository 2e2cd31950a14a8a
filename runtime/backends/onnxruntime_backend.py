"""ONNX Runtime sessions. ONNX has no model state, so the t2s cache travels as explicit tensors."""

from __future__ import annotations

import numpy as np


class OnnxT2S:
    """The t2s graph with its KV cache in buffers held here between calls.

    The graph takes each layer's whole reserved buffer [1, heads, capacity, head_dim], attends with the unused
    slots masked, and returns only the new rows, which are written into the buffers in place: one copy of the
    cache, nothing copied per token. Capacity grows in steps of ``CAPACITY_STEP`` rows, one buffer at a time.
    """

    CAPACITY_STEP = 64

    def __init__(self, session):
        self._session = session
        self._past = [i.name for i in session.get_inputs() if i.name.startswith("past_")]
        self._outputs = ["logits", *[name.replace("past_", "new_") for name in self._past]]
        shape = session.get_inputs()[2].shape  # [1, heads, capacity, head_dim]
        self._heads, self._head_dim = int(shape[1]), int(shape[3])
        self._cache: list[np.ndarray] = []
        self._length = 0
        self.reset()

    def reset(self) -> None:
        self._cache = [self._buffer(self.CAPACITY_STEP) for _ in self._past]
        self._length = 0

    def _buffer(self, capacity: int) -> np.ndarray:
        return np.zeros((1, self._heads, capacity, self._head_dim), dtype=np.float32)

    def run(self, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        count, length = rows.shape[1], self._length
        if length == 0:  # a prefill: no past slots at all, so its scores span only its own rows
            buffers, full_mask = [self._buffer(0)] * len(self._past), mask
        else:
            self._reserve(length + count)
            buffers, capacity = self._cache, self._cache[0].shape[2]
            # [past slots | unused slots (hidden) | new rows]: the caller's mask covers the past and the new rows
            full_mask = np.full((1, 1, count, capacity + count), -np.inf, dtype=np.float32)
            full_mask[..., :length] = mask[..., :length]
            full_mask[..., capacity:] = mask[..., length:]
        cache = dict(zip(self._past, buffers, strict=True))
        outputs = self._session.run(self._outputs, {"x": rows, "mask": full_mask, **cache})
        self._reserve(length + count)
        for buffer, new in zip(self._cache, outputs[1:], strict=True):
            buffer[:, :, length : length + count] = new
        self._length = length + count
        return outputs[0][0]

    def _reserve(self, rows: int) -> None:
        """Make every buffer hold ``rows`` rows (the cached ones plus this call's)."""
        if rows <= self._cache[0].shape[2]:
            return
        capacity = -(-rows // self.CAPACITY_STEP) * self.CAPACITY_STEP
        for i, old in enumerate(self._cache):  # one buffer at a time: at most one extra in memory
            grown = self._buffer(capacity)
            grown[:, :, : self._length] = old[:, :, : self._length]
            self._cache[i] = grown


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

    def run(self, z_p, ge) -> np.ndarray:
        return self._session.run(["audio"], {"z_p": z_p, "ge": ge})[0][0]
