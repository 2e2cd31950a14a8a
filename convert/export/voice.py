"""Export the graphs a device needs to enroll voices and to read Chinese: hubert, ref_enc, sv and bert.

- ``hubert``: ``wav16k`` [1, S] → ``codes`` [1, T]: chinese-hubert-base on the raw waveform, SoVITS' ssl_proj
  (k2 s2) and the nearest codebook entry: a reference clip's prompt tokens. The host appends 0.6 s of zeros.
- ``ref_enc``: ``spec`` [1, 1025, frames] (+ ``sv_emb`` [1, 20480] for v2Pro/v2ProPlus) → ``ge`` [1, gin]: the
  speaker vector. The graph itself keeps the bins its version reads (v1 all 1025, later versions the first 704).
- ``sv`` (v2Pro/v2ProPlus): ``fbank`` [1, T, 80] → ``sv_emb`` [1, 20480]: ERes2NetV2's fused stage-3/4 map
  averaged over time (upstream's ``forward3``). The host computes the Kaldi fbank (``runtime.fbank``).
- ``bert``: ``input_ids``, ``attention_mask``, ``token_type_ids`` [1, T] → ``hidden`` [1, T, 1024]: GPT-SoVITS
  reads hidden_states[-3], the output of layer L-2, so the last two layers and the MLM head are dropped.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gsv_edge.convert.export.common import name_ports, to_onnx, to_openvino
from gsv_edge.convert.reference.pretrained import BERT_HIDDEN_STATE

HUBERT_INPUTS, HUBERT_OUTPUTS = ["wav16k"], ["codes"]
SV_INPUTS, SV_OUTPUTS = ["fbank"], ["sv_emb"]
BERT_INPUTS, BERT_OUTPUTS = ["input_ids", "attention_mask", "token_type_ids"], ["hidden"]


class HubertCodesGraph(nn.Module):
    def __init__(self, hubert, sovits_reference):
        super().__init__()
        self.hubert = hubert
        self.sovits = sovits_reference

    def forward(self, wav16k):
        features = self.hubert(wav16k)["last_hidden_state"].transpose(1, 2)
        return self.sovits.quantizer.encode(self.sovits.ssl_proj(features))

    @staticmethod
    def example_inputs():
        return (torch.zeros(1, 16000),)


class RefEncoderGraph(nn.Module):
    def __init__(self, sovits_reference):
        super().__init__()
        self.sovits = sovits_reference

    def forward(self, spec, sv_emb=None):
        model = self.sovits
        ge = model.ref_enc(spec[:, : model.ref_bins])
        if model.is_pro:
            ge = model.prelu(ge + model.sv_emb(sv_emb).unsqueeze(-1))
        return ge[:, :, 0]

    @property
    def inputs(self) -> list[str]:
        return ["spec", "sv_emb"] if self.sovits.is_pro else ["spec"]

    def example_inputs(self):
        spec = torch.rand(1, 1025, 50)
        return (spec, torch.zeros(1, 20480)) if self.sovits.is_pro else (spec,)


class SpeakerGraph(nn.Module):
    def __init__(self, eres2net):
        super().__init__()
        self.eres2net = eres2net

    def forward(self, fbank):
        return self.eres2net(fbank)

    @staticmethod
    def example_inputs():
        return (torch.randn(1, 200, 80, generator=torch.Generator().manual_seed(0)),)


class TrimmedBertGraph(nn.Module):
    def __init__(self, bert_model):
        super().__init__()
        self.bert = bert_model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]

    @staticmethod
    def example_inputs():
        ids = torch.tensor([[2, 10, 11, 12, 3]])
        return ids, torch.ones_like(ids), torch.zeros_like(ids)


def load_hubert(folder: str | Path):
    from gsv_edge.convert.reference.pretrained import HubertFeatures

    return HubertFeatures(folder).model


def load_trimmed_bert(folder: str | Path):
    """BertForMaskedLM's encoder without the layers above the one GPT-SoVITS reads."""
    from gsv_edge.convert.reference.pretrained import BertFeatures

    full = BertFeatures(folder).model
    bert = full.bert
    keep = len(bert.encoder.layer) + 1 + BERT_HIDDEN_STATE  # hidden_states[-3] is the output of layer L-2
    bert.encoder.layer = bert.encoder.layer[:keep]
    bert.config.num_hidden_layers = keep
    bert.pooler = None
    return bert.eval()


def hubert_to_openvino(graph: HubertCodesGraph):
    import openvino as ov

    return to_openvino(graph, HUBERT_INPUTS, HUBERT_OUTPUTS, [ov.PartialShape([1, -1])])


def ref_enc_to_openvino(graph: RefEncoderGraph):
    import openvino as ov

    shapes = [ov.PartialShape([1, 1025, -1])] + ([ov.PartialShape([1, 20480])] if graph.sovits.is_pro else [])
    return to_openvino(graph, graph.inputs, ["ge"], shapes)


def sv_to_openvino(onnx_path: str | Path):
    """The sv graph read from its ONNX export: tracing this 54M-parameter net a second time for OpenVINO's torch
    frontend costs about 15 s on a laptop, reading the ONNX file about 1 s."""
    import openvino as ov

    return name_ports(ov.convert_model(str(onnx_path)), SV_INPUTS, SV_OUTPUTS)


def bert_to_openvino(graph: TrimmedBertGraph):
    import openvino as ov

    return to_openvino(graph, BERT_INPUTS, BERT_OUTPUTS, [ov.PartialShape([1, -1])] * 3)


def hubert_to_onnx(graph: HubertCodesGraph, path) -> Path:
    return to_onnx(graph, path, HUBERT_INPUTS, HUBERT_OUTPUTS, {"wav16k": {1: "samples"}, "codes": {1: "tokens"}})


def ref_enc_to_onnx(graph: RefEncoderGraph, path) -> Path:
    return to_onnx(graph, path, graph.inputs, ["ge"], {"spec": {2: "frames"}})


def sv_to_onnx(graph: SpeakerGraph, path) -> Path:
    return to_onnx(graph, path, SV_INPUTS, SV_OUTPUTS, {"fbank": {1: "frames"}})


def bert_to_onnx(graph: TrimmedBertGraph, path) -> Path:
    dynamic = {name: {1: "tokens"} for name in BERT_INPUTS} | {"hidden": {1: "tokens"}}
    return to_onnx(graph, path, BERT_INPUTS, BERT_OUTPUTS, dynamic)
