"""Export the GPT (text → semantic tokens) as one graph that does both prefill and decode.

The graph takes input embeddings (computed on the host from small tables, see ``runtime.t2s``), an additive
attention mask, and the per-layer key/value cache, and returns the last position's logits plus the grown cache.

- OpenVINO: the cache becomes model state (ReadValue/Assign per layer) with ``apply_make_stateful_transformation``,
  so the cache never leaves the compiled model and the CPU plugin fuses the concat into its attention kernel.
  Prefill and decode are the same graph: prefill feeds all [phones ; prompt] rows with the GPT-SoVITS mask, then
  each decode step feeds one row with an all-zero mask. ``reset_state()`` starts a new utterance.
- ONNX: the cache lives in the host's reserved buffers (``runtime.backends.onnxruntime_backend.OnnxT2S``),
  passed in whole with the unused slots masked; the graph returns only the new rows' keys and values. Attention
  reads the past and the new rows separately, so no step copies the cache: a concat would write the whole cache
  again on every token and hold a second copy of it. Its first axis is a batch: one decode step can advance
  several streams at once, each row with its own mask over its own cache slot (``runtime.batching``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gsv_edge.convert.checkpoint import GptCheckpoint
from gsv_edge.convert.export import common

LAYER_NORM_EPS = 1e-5


class DecoderLayer(nn.Module):
    """One post-LayerNorm transformer layer with q|k|v packed in one projection, as the GPT stores it."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm1 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.ffn_in = nn.Linear(d_model, 4 * d_model)
        self.ffn_out = nn.Linear(4 * d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.query_scale_folded = False
        """True once ``fold_query_scale`` has scaled the q weights (only ever on the copy ONNX export makes)."""

    def forward(self, x, mask, past_k, past_v):
        batch, rows, d_model = x.shape
        q, k, v = self.qkv(x).view(batch, rows, 3, self.heads, d_model // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self._finish(x, attended), k, v

    def forward_reserved(self, x, mask, past_k, past_v, batch):
        """The ONNX form: ``past_k``/``past_v`` [batch, heads, capacity, head_dim] are reserved buffers whose
        unused slots ``mask`` [batch, 1, rows, capacity + rows] hides; returns only the new rows' keys and values.

        Written for a small graph, since a decode step is one row per stream and ONNX Runtime pays per node:
        ``batch`` is read from the input's shape once for all layers (not once per reshape), one Split for q|k|v,
        and the 1/sqrt(head_dim) query scale folded into the q rows of the projection by ``to_onnx`` (about a
        third fewer nodes).
        """
        d_model = x.shape[-1]
        heads, head_dim = self.heads, d_model // self.heads
        q, k, v = self.qkv(x).view(batch, -1, 3 * heads, head_dim).transpose(1, 2).split(heads, dim=1)
        if not self.query_scale_folded:
            q = q * head_dim**-0.5
        scores = torch.cat([q @ past_k.transpose(-1, -2), q @ k.transpose(-1, -2)], dim=-1) + mask
        probs = torch.softmax(scores, dim=-1)
        capacity = past_k.shape[2]
        attended = probs[..., :capacity] @ past_v + probs[..., capacity:] @ v
        attended = self.out(attended.transpose(1, 2).reshape(batch, -1, d_model))
        x = self.norm1(x + attended)
        return self.norm2(x + self.ffn_out(F.relu(self.ffn_in(x)))), k, v

    @torch.no_grad()
    def fold_query_scale(self) -> None:
        """Scale the q rows of the packed projection by 1/sqrt(head_dim), so attention needs no multiply."""
        d_model = self.out.in_features
        scale = (d_model // self.heads) ** -0.5
        self.qkv.weight[:d_model] *= scale
        self.qkv.bias[:d_model] *= scale
        self.query_scale_folded = True

    def _finish(self, x, attended):
        batch, rows, d_model = x.shape
        attended = self.out(attended.transpose(1, 2).reshape(batch, rows, d_model))
        x = self.norm1(x + attended)
        return self.norm2(x + self.ffn_out(F.relu(self.ffn_in(x))))


class T2SGraph(nn.Module):
    """Embeddings + mask + cache in, last-row logits + cache out."""

    def __init__(self, d_model: int, heads: int, n_layer: int, vocab: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(d_model, heads) for _ in range(n_layer))
        self.predict = nn.Linear(d_model, vocab, bias=False)
        self.reserved_cache = False
        """True while exporting the ONNX form (see ``DecoderLayer.forward_reserved``)."""

    def forward(self, x, mask, *cache):
        present, batch = [], x.shape[0]
        for i, layer in enumerate(self.layers):
            if self.reserved_cache:
                x, k, v = layer.forward_reserved(x, mask, cache[2 * i], cache[2 * i + 1], batch)
            else:
                x, k, v = layer(x, mask, cache[2 * i], cache[2 * i + 1])
            present += [k, v]
        return (self.predict(x[:, -1]), *present)

    @classmethod
    def from_checkpoint(cls, ckpt: GptCheckpoint) -> T2SGraph:
        model = ckpt.model_config
        graph = cls(model["embedding_dim"], model["head"], model["n_layer"], model["vocab_size"])
        sd = ckpt.state_dict
        renamed = {"predict.weight": sd["ar_predict_layer.weight"]}
        ours_by_theirs = {
            "self_attn.in_proj_weight": "qkv.weight", "self_attn.in_proj_bias": "qkv.bias",
            "self_attn.out_proj.weight": "out.weight", "self_attn.out_proj.bias": "out.bias",
            "linear1.weight": "ffn_in.weight", "linear1.bias": "ffn_in.bias",
            "linear2.weight": "ffn_out.weight", "linear2.bias": "ffn_out.bias",
            "norm1.weight": "norm1.weight", "norm1.bias": "norm1.bias",
            "norm2.weight": "norm2.weight", "norm2.bias": "norm2.bias",
        }  # fmt: skip
        for i in range(model["n_layer"]):
            for theirs, ours in ours_by_theirs.items():
                renamed[f"layers.{i}.{ours}"] = sd[f"h.layers.{i}.{theirs}"]
        graph.load_state_dict(renamed, strict=True)
        return graph.eval()

    def cache_names(self, reserved: bool = False) -> tuple[list[str], list[str]]:
        """Cache inputs and outputs: past_*/present_* (OpenVINO, before it makes them state), or past_*/new_*
        (the ONNX form: only the new rows come out)."""
        past = [f"past_{kv}_{i}" for i in range(len(self.layers)) for kv in "kv"]
        return past, [name.replace("past_", "new_" if reserved else "present_") for name in past]

    def example_inputs(self, rows: int = 5, past: int = 3) -> tuple[torch.Tensor, ...]:
        layer = self.layers[0]
        d_model, heads = layer.out.in_features, layer.heads
        cache = [torch.zeros(1, heads, past, d_model // heads) for _ in range(2 * len(self.layers))]
        return (torch.zeros(1, rows, d_model), torch.zeros(1, 1, rows, past + rows), *cache)


def embedding_tables(ckpt: GptCheckpoint) -> dict[str, np.ndarray]:
    """The small tables the host uses to build the graph's input rows (see ``runtime.t2s.T2SEmbeddings``)."""
    sd = ckpt.state_dict
    return {
        "phone_embedding": sd["ar_text_embedding.word_embeddings.weight"].numpy(),
        "bert_proj_weight": sd["bert_proj.weight"].numpy(),
        "bert_proj_bias": sd["bert_proj.bias"].numpy(),
        "phone_alpha": sd["ar_text_position.alpha"].numpy().reshape(1),
        "token_embedding": sd["ar_audio_embedding.word_embeddings.weight"].numpy(),
        "token_alpha": sd["ar_audio_position.alpha"].numpy().reshape(1),
    }


def to_openvino(graph: T2SGraph, stateful: bool = True):
    """Convert to an OpenVINO model whose KV cache is internal state (or explicit past/present tensors)."""
    import openvino as ov
    from openvino._offline_transformations import apply_make_stateful_transformation

    layer = graph.layers[0]
    d_model, heads = layer.out.in_features, layer.heads
    past, present = graph.cache_names()
    shapes = [ov.PartialShape([1, -1, d_model]), ov.PartialShape([1, 1, -1, -1])]
    shapes += [ov.PartialShape([1, heads, -1, d_model // heads])] * len(past)
    model = common.to_openvino(graph, ["x", "mask", *past], ["logits", *present], shapes)
    if stateful:
        apply_make_stateful_transformation(model, dict(zip(past, present, strict=True)))
    return model


def to_onnx(graph: T2SGraph, path: str | Path) -> Path:
    """Export the ONNX form: reserved cache buffers in (past_*, [batch, heads, capacity, head_dim]), the new rows'
    keys and values out (new_*, [batch, heads, rows, head_dim]), dynamic batch and lengths."""
    past, new = graph.cache_names(reserved=True)
    dynamic = {"x": {0: "batch", 1: "rows"}, "mask": {0: "batch", 2: "rows", 3: "attended"}, "logits": {0: "batch"}}
    dynamic.update({name: {0: "batch", 2: "capacity"} for name in past})
    dynamic.update({name: {0: "batch", 2: "rows"} for name in new})
    graph = copy.deepcopy(graph)  # the caller's graph keeps its weights (the OpenVINO form scales q itself)
    graph.reserved_cache = True
    for layer in graph.layers:
        layer.fold_query_scale()
    return common.to_onnx(graph, path, ["x", "mask", *past], ["logits", *new], dynamic)
