"""Torch reference of the GPT-SoVITS GPT (Text2SemanticDecoder), inference only.

State-dict names are the official ones with upstream's "model." prefix removed, and every size comes from the
checkpoint's config, so the tiny conformance models and the full-size official ones load alike.

Facts the code relies on:
- inputs are two streams, phones (+ projected BERT) and semantic tokens, each with its own sinusoidal
  positions that start at 0, scaled by a learned scalar ``alpha`` (the embedding itself is not scaled);
- the layers are post-LayerNorm (eps 1e-5) with a ReLU FFN of 4·d and q|k|v packed in one projection;
- in the prefill, phone rows attend to all phones and to no token; token rows attend to all phones and
  causally to the tokens. Decoding then appends one token per step to a KV cache.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gsv_edge.runtime.voice_features import BERT_DIM

LAYER_NORM_EPS = 1e-5

KVCache = list[tuple[torch.Tensor, torch.Tensor]]


class TokenEmbedding(nn.Module):
    """A lookup table, stored as ``word_embeddings``."""

    def __init__(self, vocab: int, dim: int):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.word_embeddings(ids)


class SinePositions(nn.Module):
    """x + alpha · sinusoid(position); sin on even features, cos on odd ones."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.alpha = nn.Parameter(torch.ones(1))

    def table(self, start: int, count: int) -> torch.Tensor:
        position = torch.arange(start, start + count, dtype=torch.float32)[:, None]
        frequency = torch.exp(torch.arange(0, self.dim, 2, dtype=torch.float32) * -(math.log(10000.0) / self.dim))
        table = torch.zeros(count, self.dim)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency)
        return table

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        return x + self.alpha * self.table(start, x.shape[-2])


class DecoderLayer(nn.Module):
    """Post-LN transformer layer; ``self_attn`` holds the packed in_proj and out_proj like nn.MultiheadAttention."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.linear1 = nn.Linear(dim, 4 * dim)
        self.linear2 = nn.Linear(4 * dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)

    def forward(self, x, mask, cache: tuple[torch.Tensor, torch.Tensor] | None):
        batch, rows, dim = x.shape
        attn = self.self_attn
        qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)
        q, k, v = qkv.view(batch, rows, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = attn.out_proj(out.transpose(1, 2).reshape(batch, rows, dim))
        x = self.norm1(x + out)
        x = self.norm2(x + self.linear2(F.relu(self.linear1(x))))
        return x, (k, v)


class _Stack(nn.Module):
    def __init__(self, dim: int, heads: int, n_layer: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(dim, heads) for _ in range(n_layer))


class Text2SemanticDecoder(nn.Module):
    """The GPT: phones (+ BERT) and prompt tokens in, next-token logits out."""

    def __init__(self, model_config: dict):
        super().__init__()
        dim = int(model_config["embedding_dim"])
        self.dim = dim
        self.eos = int(model_config.get("EOS", 1024))
        self.bert_proj = nn.Linear(BERT_DIM, dim)
        self.ar_text_embedding = TokenEmbedding(int(model_config["phoneme_vocab_size"]), dim)
        self.ar_text_position = SinePositions(dim)
        self.ar_audio_embedding = TokenEmbedding(int(model_config["vocab_size"]), dim)
        self.ar_audio_position = SinePositions(dim)
        self.h = _Stack(dim, int(model_config["head"]), int(model_config["n_layer"]))
        self.ar_predict_layer = nn.Linear(dim, int(model_config["vocab_size"]), bias=False)

    def embed_phones(self, phones: torch.Tensor, bert: torch.Tensor) -> torch.Tensor:
        """phones [N] int, bert [1024, N] → rows [N, d]."""
        return self.ar_text_position(self.ar_text_embedding(phones) + self.bert_proj(bert.T))

    def embed_tokens(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        """tokens [M] int at positions start.. → rows [M, d]."""
        return self.ar_audio_position(self.ar_audio_embedding(tokens), start)

    def run_rows(self, rows: torch.Tensor, mask: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """rows [1, T, d] attend to the cache and to themselves under ``mask`` (bool, True = may attend)."""
        x, new_cache = rows, []
        for i, layer in enumerate(self.h.layers):
            x, kv = layer(x, mask, cache[i] if cache else None)
            new_cache.append(kv)
        return self.ar_predict_layer(x[:, -1])[0], new_cache

    @staticmethod
    def prefill_mask(n_phones: int, n_prompt: int) -> torch.Tensor:
        """Bool [n, n], True where attention is allowed: phones↔phones; tokens→phones and earlier tokens."""
        n = n_phones + n_prompt
        allowed = torch.zeros(n, n, dtype=torch.bool)
        allowed[:, :n_phones] = True
        allowed[n_phones:, n_phones:] = torch.tril(torch.ones(n_prompt, n_prompt, dtype=torch.bool))
        return allowed

    @torch.no_grad()
    def prefill(self, phones, bert, prompt) -> tuple[torch.Tensor, KVCache]:
        rows = torch.cat([self.embed_phones(phones, bert), self.embed_tokens(prompt)])[None]
        return self.run_rows(rows, self.prefill_mask(len(phones), len(prompt)), None)

    @torch.no_grad()
    def decode_step(self, token: int, position: int, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        """One new token at stream position ``position``; it may attend to everything cached."""
        row = self.embed_tokens(torch.tensor([token]), position)[None]
        return self.run_rows(row, None, cache)
