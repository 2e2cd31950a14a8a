"""ONNX Runtime sessions. ONNX has no model state, so the t2s cache travels as explicit tensors."""

from __future__ import annotations

import numpy as np


class OnnxT2S:
    """The t2s graph with past_*/present_* cache tensors held here between calls."""

    def __init__(self, session):
        self._session = session
        self._past = [i.name for i in session.get_inputs() if i.name.startswith("past_")]
        self._present = [name.replace("past_", "present_") for name in self._past]
        shape = session.get_inputs()[2].shape  # [1, heads, past, head_dim]
        self._empty = np.zeros((1, shape[1], 0, shape[3]), dtype=np.float32)
        self._cache: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        self._cache = {name: self._empty for name in self._past}

    def run(self, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        outputs = self._session.run(["logits", *self._present], {"x": rows, "mask": mask, **self._cache})
        self._cache = dict(zip(self._past, outputs[1:], strict=True))
        return outputs[0][0]


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
