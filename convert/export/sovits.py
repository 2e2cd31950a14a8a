"""Export SoVITS as two graphs, split where streaming needs it.

- ``sovits_enc``: ``codes`` [1, T25] int64, ``phones`` [1, N] int64, ``ge`` [1, gin] → ``m``, ``logs``
  [1, 192, 2·T25]: the prior at 50 Hz. Its transformers attend over the whole utterance, but it is cheap
  (~5 % of SoVITS' compute), so a stream can re-run it on every token it has so far.
- ``sovits_dec``: ``z_p`` [1, 192, F], ``ge`` [1, gin], ``frames`` [1] int64 → ``audio`` [1, 640·F]: the flow
  in reverse and the HiFi-GAN generator. Purely convolutional with a finite receptive field, so it can run on
  windows with a little context on each side and match a whole decode. Only the first ``frames`` frames of z_p
  are real: an utterance shorter than the runtime's window is zero-padded to it, and every conv sees zeros past
  its end as in a decode of its own length (``SynthesizerTrn.decode_latent``), so the decoder never meets a new
  input shape (OpenVINO keeps buffers for each shape it has run, for good).

Between them the host resamples for speed and draws the noise: z_p = m + N(0,1)·exp(logs)·noise_scale
(``runtime.vocoder``). Both graphs call the reference model's own methods, so export and reference cannot drift.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gsv_edge.convert.checkpoint import SovitsCheckpoint
from gsv_edge.convert.export import common
from gsv_edge.convert.reference import build_sovits

ENC_INPUTS, ENC_OUTPUTS = ["codes", "phones", "ge"], ["m", "logs"]
DEC_INPUTS, DEC_OUTPUTS = ["z_p", "ge", "frames"], ["audio"]


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
        self.model = with_polyphase_upsampling(model)

    def forward(self, z_p, ge, frames):
        return self.model.decode_latent(z_p, ge, frames)[0]

    def example_inputs(self, frames: int = 12):
        gin = self.model.dec.cond.in_channels
        z_p = torch.zeros(1, self.model.enc_p.out_channels, frames)
        return z_p, torch.zeros(1, gin), torch.tensor([frames - 2])


class ConvAsMatMul(nn.Module):
    """A Conv1d (stride 1, one group) as a MatMul: the k shifted copies of the input side by side, times one
    [k·in, out] matrix. Same numbers; ONNX Runtime can then keep the matrix in 8 bits (MatMulNBits), which
    it cannot do for a Conv."""

    def __init__(self, conv: nn.Conv1d):
        super().__init__()
        out_channels, in_channels, kernel = conv.weight.shape
        if conv.stride != (1,) or conv.groups != 1:
            raise ValueError("ConvAsMatMul takes stride-1, single-group convolutions only")
        self.kernel, self.dilation, self.padding = kernel, conv.dilation[0], conv.padding[0]
        # weight[o, c, i] → matrix[i·in + c, o]: row block i multiplies the input shifted by i·dilation
        matrix = conv.weight.detach().permute(2, 1, 0).reshape(kernel * in_channels, out_channels)
        self.matrix = nn.Parameter(matrix.clone())
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone())

    def forward(self, x):  # [1, C, T] → [1, out, T']
        x = F.pad(x, (self.padding, self.padding)).transpose(1, 2) if self.padding else x.transpose(1, 2)
        if self.kernel > 1:
            length = x.shape[1] - self.dilation * (self.kernel - 1)
            shifts = [x[:, i * self.dilation : i * self.dilation + length] for i in range(self.kernel)]
            x = torch.cat(shifts, dim=2)
        y = x @ self.matrix
        return (y if self.bias is None else y + self.bias).transpose(1, 2)


class PolyphaseUpsample(nn.Module):
    """A ConvTranspose1d of stride s as one Conv1d with s·C_out channels, one group of C_out per output phase,
    interleaved back. Same numbers; on the CPU a plain convolution runs much faster than a transposed one
    (OpenVINO's transposed convolutions were a quarter of a decoder window's time; docs/performance.md).

    Output sample t = q·s + r gets x[i]·w[k] for every t = i·s − p + k: writing r + p = a·s + b, that is
    k = (a − d)·s + b for the input at q + d, so phase r is a correlation of x with taps w[(a − d)·s + b] at
    offsets d. All phases share one kernel over the union of their offsets, with zeros where a phase has no tap.
    """

    def __init__(self, up: nn.ConvTranspose1d):
        super().__init__()
        in_channels, out_channels, kernel = up.weight.shape
        stride, padding = up.stride[0], up.padding[0]
        if up.dilation != (1,) or up.groups != 1 or up.output_padding != (0,) or kernel - 2 * padding != stride:
            raise ValueError("PolyphaseUpsample takes transposed convolutions whose output is stride × input long")
        taps = {}  # (phase, input offset) -> kernel index
        for phase in range(stride):
            a, b = divmod(phase + padding, stride)
            for j in range(-(-(kernel - b) // stride)):
                taps[(phase, a - j)] = j * stride + b
        first, last = min(d for _, d in taps), max(d for _, d in taps)
        weight = torch.zeros(out_channels, stride, in_channels, last - first + 1)
        for (phase, offset), k in taps.items():
            weight[:, phase, :, offset - first] = up.weight.detach()[:, :, k].T
        self.weight = nn.Parameter(weight.reshape(out_channels * stride, in_channels, -1))
        self.bias = None if up.bias is None else nn.Parameter(up.bias.detach().repeat_interleave(stride))
        self.stride, self.out_channels, self.pad = stride, out_channels, (-first, last)

    def forward(self, x):  # [B, C_in, T] → [B, C_out, T·s]
        phases = F.conv1d(F.pad(x, self.pad), self.weight, self.bias)  # [B, C_out·s, T]
        # (reshape with -1 rather than unflatten: the ONNX exporter would freeze T at the example length)
        phases = phases.reshape(phases.shape[0], self.out_channels, self.stride, -1)
        return phases.transpose(2, 3).reshape(phases.shape[0], self.out_channels, -1)


def with_polyphase_upsampling(model):
    """A copy of the SoVITS model (sharing all but the generator) whose upsampling layers are ``PolyphaseUpsample``."""
    generator = copy.deepcopy(model.dec)
    for i, up in enumerate(generator.ups):
        generator.ups[i] = PolyphaseUpsample(up)
    rewritten = copy.copy(model)
    rewritten._modules = dict(model._modules)  # a module's children live in this dict: not shared with the original
    rewritten.dec = generator
    return rewritten


FFN_MATMUL = "/ffn_layers."
"""What the ONNX names of the MatMuls ``with_ffn_matmuls`` makes contain (the exporter names nodes by module)."""


def with_ffn_matmuls(model):
    """A copy of the SoVITS model whose text-encoder FFN convolutions are MatMuls (``ConvAsMatMul``).

    They hold ~70 % of sovits_enc's weights (24 convolutions of 192×768×3 on the full-size v2 model), so keeping
    just these in 8 bits takes the ONNX encoder from ~68 to ~43 MB in memory.
    """
    from gsv_edge.convert.reference.attentions import FFN

    model = copy.deepcopy(model)
    for module in model.enc_p.modules():
        if isinstance(module, FFN):
            module.conv_1, module.conv_2 = ConvAsMatMul(module.conv_1), ConvAsMatMul(module.conv_2)
    return model


def encoder_to_openvino(graph: SoVITSEncoderGraph):
    import openvino as ov

    gin = graph.model.dec.cond.in_channels
    shapes = [ov.PartialShape([1, -1]), ov.PartialShape([1, -1]), ov.PartialShape([1, gin])]
    return common.to_openvino(graph, ENC_INPUTS, ENC_OUTPUTS, shapes)


def decoder_to_openvino(graph: SoVITSDecoderGraph):
    import openvino as ov

    gin = graph.model.dec.cond.in_channels
    shapes = [ov.PartialShape([1, graph.model.enc_p.out_channels, -1]), ov.PartialShape([1, gin]), ov.PartialShape([1])]
    return common.to_openvino(graph, DEC_INPUTS, DEC_OUTPUTS, shapes)


def encoder_to_onnx(graph: SoVITSEncoderGraph, path: str | Path) -> Path:
    dynamic = {"codes": {1: "tokens"}, "phones": {1: "phones"}, "m": {2: "frames"}, "logs": {2: "frames"}}
    return common.to_onnx(graph, path, ENC_INPUTS, ENC_OUTPUTS, dynamic)


def decoder_to_onnx(graph: SoVITSDecoderGraph, path: str | Path) -> Path:
    return common.to_onnx(graph, path, DEC_INPUTS, DEC_OUTPUTS, {"z_p": {2: "frames"}, "audio": {1: "samples"}})
