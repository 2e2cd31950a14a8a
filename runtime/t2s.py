"""Phones → semantic tokens: the GPT's input rows, its prefill mask, and the autoregressive loop.

The heavy part (the transformer) runs in a backend graph; this file holds what is cheap and exact on the host:
embedding lookups, the sinusoidal positions, the mask, and token choice (``runtime.sampling``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gsv_edge.runtime.sampling import EOS, SamplingOptions, penalize, penalized_to_probs, sample


class T2SSession(Protocol):
    """A compiled t2s graph holding one utterance's KV cache (OpenVINO state or explicit ONNX tensors)."""

    def reset(self) -> None: ...

    def run(self, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Append ``rows`` [1, n, d] to the cache, attend with ``mask`` [1, 1, n, cached + n]; last logits."""
        ...


class T2SEmbeddings:
    """The GPT's input tables: phones (+ BERT projection) and semantic tokens, each with scaled sinusoids."""

    def __init__(self, tables: dict[str, np.ndarray]):
        self.phone_embedding = tables["phone_embedding"].astype(np.float32)
        self.bert_proj_weight = tables["bert_proj_weight"].astype(np.float32)
        self.bert_proj_bias = tables["bert_proj_bias"].astype(np.float32)
        self.phone_alpha = float(tables["phone_alpha"][0])
        self.token_embedding = tables["token_embedding"].astype(np.float32)
        self.token_alpha = float(tables["token_alpha"][0])
        self.d_model = self.phone_embedding.shape[1]
        self._positions = _sinusoids(2048, self.d_model)

    def positions(self, start: int, count: int) -> np.ndarray:
        if start + count > len(self._positions):
            self._positions = _sinusoids(2 * (start + count), self.d_model)
        return self._positions[start : start + count]

    def phones(self, phone_ids: np.ndarray, bert: np.ndarray) -> np.ndarray:
        """Rows for the phones: embedding + Linear(1024→d)(BERT [1024, n]) + alpha·sinusoid (positions from 0)."""
        rows = self.phone_embedding[phone_ids] + bert.T @ self.bert_proj_weight.T + self.bert_proj_bias
        return rows + self.phone_alpha * self.positions(0, len(phone_ids))

    def tokens(self, token_ids: np.ndarray, start: int = 0) -> np.ndarray:
        """Rows for semantic tokens at positions start.. (the token stream restarts its positions at 0)."""
        return self.token_embedding[token_ids] + self.token_alpha * self.positions(start, len(token_ids))


def _sinusoids(count: int, d_model: int) -> np.ndarray:
    """Classic transformer positions: sin on even features, cos on odd, wavelengths up to 10000·2π."""
    position = np.arange(count, dtype=np.float32)[:, None]
    frequency = np.exp(np.arange(0, d_model, 2, dtype=np.float32) * -(math.log(10000.0) / d_model))
    table = np.zeros((count, d_model), dtype=np.float32)
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)
    return table


def prefill_mask(n_phones: int, n_prompt: int) -> np.ndarray:
    """Additive mask [1, 1, n, n] over [phones ; prompt]: phone rows see all phones and no prompt token;
    prompt rows see all phones and the prompt causally."""
    n = n_phones + n_prompt
    mask = np.zeros((n, n), dtype=np.float32)
    mask[:n_phones, n_phones:] = -np.inf
    mask[n_phones:, n_phones:] = np.triu(np.full((n_prompt, n_prompt), -np.inf, dtype=np.float32), k=1)
    return mask[None, None]


def score_tokens(
    session: T2SSession,
    embeddings: T2SEmbeddings,
    phone_ids: np.ndarray,
    bert: np.ndarray,
    prompt: np.ndarray,
    tokens: np.ndarray,
) -> np.ndarray:
    """Teacher forcing: the logits [len(tokens) + 1, vocab] of the prefill and of each given next token."""
    prompt = np.asarray(prompt, dtype=np.int64)
    rows = np.concatenate([embeddings.phones(phone_ids, bert), embeddings.tokens(prompt)])[None]
    session.reset()
    logits = [session.run(rows.astype(np.float32), prefill_mask(len(phone_ids), len(prompt)))]
    cached = rows.shape[1]
    for i, token in enumerate(tokens):
        row = embeddings.tokens(np.array([token]), start=len(prompt) + i)[None]
        cached += 1
        logits.append(session.run(row.astype(np.float32), np.zeros((1, 1, 1, cached), dtype=np.float32)))
    return np.stack(logits)


@dataclass
class Generation:
    """What one run of the AR loop produced."""

    tokens: list[int] = field(default_factory=list)
    """Semantic tokens for SoVITS (25 per second of audio), EOS excluded."""
    stopped_by: str = ""
    """"eos" (argmax or sample was EOS) or "max_steps"."""
    steps: int = 0
    """Decode steps run (prefill counts as step 0)."""


def decode_tokens(
    session: T2SSession,
    embeddings: T2SEmbeddings,
    phone_ids: np.ndarray,
    bert: np.ndarray,
    prompt: np.ndarray,
    options: SamplingOptions | None = None,
    seed: int | None = None,
    result: Generation | None = None,
) -> Iterator[int]:
    """Upstream's AR loop, one token at a time: EOS banned for the first steps (11), stop when the argmax or the
    sample is EOS, step cap. Each token is yielded as soon as it is sampled; ``result`` (if given) records the run."""
    options = options or SamplingOptions()
    result = result if result is not None else Generation()
    rng = np.random.default_rng(seed)
    prompt = np.asarray(prompt, dtype=np.int64)
    rows = np.concatenate([embeddings.phones(phone_ids, bert), embeddings.tokens(prompt)])[None]
    session.reset()
    logits = session.run(rows.astype(np.float32), prefill_mask(len(phone_ids), len(prompt)))
    history = list(prompt)
    cached = rows.shape[1]
    for step in range(options.max_steps):
        result.steps = step + 1
        allowed = logits[:-1] if step < options.eos_ban_steps else logits  # EOS is the last column
        penalized = penalize(allowed, np.asarray(history), options.repetition_penalty)
        token = sample(penalized_to_probs(penalized, options), rng)
        # Upstream penalises its logits in place before this test, so the argmax is taken after the penalty.
        if token == EOS or int(np.argmax(penalized)) == EOS:
            result.stopped_by = "eos"
            return
        result.tokens.append(token)
        history.append(token)
        yield token
        if step + 1 == options.max_steps:
            break  # the cap: no logits needed for a token that will not be sampled
        row = embeddings.tokens(np.array([token]), start=len(prompt) + len(result.tokens) - 1)[None]
        cached += 1
        logits = session.run(row.astype(np.float32), np.zeros((1, 1, 1, cached), dtype=np.float32))
    result.stopped_by = "max_steps"


def generate(
    session: T2SSession,
    embeddings: T2SEmbeddings,
    phone_ids: np.ndarray,
    bert: np.ndarray,
    prompt: np.ndarray,
    options: SamplingOptions | None = None,
    seed: int | None = None,
    on_token=None,
) -> Generation:
    """The whole AR loop (``decode_tokens``); ``on_token(token)`` is called for each token as it is sampled."""
    result = Generation()
    for token in decode_tokens(session, embeddings, phone_ids, bert, prompt, options, seed, result):
        if on_token is not None:
            on_token(token)
    return result
