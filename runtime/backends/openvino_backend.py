"""OpenVINO sessions. The t2s graph keeps its KV cache as model state inside the compiled model."""

from __future__ import annotations

import numpy as np

from gsv_edge.runtime.vocoder import decoder_feed


class OpenVINOT2S:
    """A stateful t2s graph: ``reset`` clears the cache, ``run`` appends rows and returns the last logits."""

    def __init__(self, compiled_model):
        self._request = compiled_model.create_infer_request()

    def reset(self) -> None:
        self._request.reset_state()

    def run(self, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        result = self._request.infer({"x": rows, "mask": mask})
        return result["logits"][0]


class OpenVINOSoVITSEncoder:
    """sovits_enc: tokens + phones + speaker → the prior (m, logs)."""

    def __init__(self, compiled_model):
        self._request = compiled_model.create_infer_request()

    def run(self, codes, phones, ge):
        result = self._request.infer({"codes": codes, "phones": phones, "ge": ge})
        return result["m"][0], result["logs"][0]


class OpenVINOSoVITSDecoder:
    """sovits_dec: prior sample → audio."""

    def __init__(self, compiled_model):
        self._request = compiled_model.create_infer_request()

    def run(self, z_p, ge, frames: int | None = None) -> np.ndarray:
        """Audio for z_p [1, 192, F]; ``frames``: only the first ones are real (see ``runtime.vocoder``)."""
        return self._request.infer(decoder_feed(z_p, ge, frames))["audio"][0]
