"""Export SoVITS as two graphs, split where streaming needs it.

- ``sovits_enc``: ``codes`` [1, T25] int64, ``phones`` [1, N] int64, ``ge`` [1, gin] → ``m``, ``logs``
  [1, 192, 2·T25]: the prior at 50 Hz. Its transformers attend over the whole utterance, but it is cheap
  (~5 % of SoVITS' compute), so a stream can re-run it on every token it has so far.
- ``sovits_dec``: ``z_p`` [1, 192, F], ``ge`` [1, gin] → ``audio`` [1, 640·F]: the flow in reverse and the
  HiFi-GAN generator. Purely convolutional with a finite receptive field, so it can run on windows with a
  little context on each side and match a whole decode.

Between them the host resamples for speed and draws the noise: z_p = m + N(0,1)·exp(logs)·noise_scale
(``runtime.vocoder``). Both graphs call the reference model's own methods, so export and reference cannot drift.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from convert.checkpoint import SovitsCheckpoint
from convert.export import common
from convert.reference import build_sovits

ENC_INPUTS, ENC_OUTPUTS = ["codes", "phones", "ge"], ["m", "logs"]
DEC_INPUTS, DEC_OUTPUTS = ["z_p", "ge"], ["audio"]


def load_reference(ckpt: SovitsCheckpoint):
    model = build_sovits(ckpt.model_config, ckpt.version).eval()
    model.load_state_dict(ckpt.state_dict, strict=True)
    return model


class SoVITSEncoderGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, codes, phones, ge):
        return self.model.encode(codes, phones, ge)

    def example_inputs(self, tokens: int = 6, phones: int = 5):
        gin = self.model.dec.cond.in_channels
        return torch.zeros(1, tokens, dtype=torch.long), torch.zeros(1, phones, dtype=torch.long), torch.zeros(1, gin)


class SoVITSDecoderGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, z_p, ge):
        return self.model.decode_latent(z_p, ge)[0]

    def example_inputs(self, frames: int = 12):
        gin = self.model.dec.cond.in_channels
        return torch.zeros(1, self.model.enc_p.out_channels, frames), torch.zeros(1, gin)


def encoder_to_openvino(graph: SoVITSEncoderGraph):
    import openvino as ov

    gin = graph.model.dec.cond.in_channels
    shapes = [ov.PartialShape([1, -1]), ov.PartialShape([1, -1]), ov.PartialShape([1, gin])]
    return common.to_openvino(graph, ENC_INPUTS, ENC_OUTPUTS, shapes)


def decoder_to_openvino(graph: SoVITSDecoderGraph):
    import openvino as ov

    gin = graph.model.dec.cond.in_channels
    shapes = [ov.PartialShape([1, graph.model.enc_p.out_channels, -1]), ov.PartialShape([1, gin])]
    return common.to_openvino(graph, DEC_INPUTS, DEC_OUTPUTS, shapes)


def encoder_to_onnx(graph: SoVITSEncoderGraph, path: str | Path) -> Path:
    dynamic = {"codes": {1: "tokens"}, "phones": {1: "phones"}, "m": {2: "frames"}, "logs": {2: "frames"}}
    return common.to_onnx(graph, path, ENC_INPUTS, ENC_OUTPUTS, dynamic)


def decoder_to_onnx(graph: SoVITSDecoderGraph, path: str | Path) -> Path:
    return common.to_onnx(graph, path, DEC_INPUTS, DEC_OUTPUTS, {"z_p": {2: "frames"}, "audio": {1: "samples"}})
