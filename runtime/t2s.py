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


class Decoding:
    """One segment's AR loop between graph calls: the prefill rows, the choice of each token with upstream's rules
    (EOS banned for the first steps, stop when the argmax or the sample is EOS, the step cap), and the next row.
    The solo loop (``decode_tokens``) and the batched one (``runtime.batching``) both drive it, so a stream
    chooses the same tokens whichever runs it."""

    def __init__(
        self,
        embeddings: T2SEmbeddings,
        phone_ids: np.ndarray,
        bert: np.ndarray,
        prompt: np.ndarray,
        options: SamplingOptions | None = None,
        seed: int | None = None,
        result: Generation | None = None,
    ):
        self.embeddings = embeddings
        self.options = options or SamplingOptions()
        self.result = result if result is not None else Generation()
        self.rng = np.random.default_rng(seed)
        self.prompt = np.asarray(prompt, dtype=np.int64)
        self.phone_ids, self.bert = phone_ids, bert
        self.history = list(self.prompt)
        self.cached = 0
        """Rows in this segment's KV cache once the last graph call has run."""
        self.done = self.options.max_steps <= 0
        """True once the segment has ended (EOS, or the step cap: then no more logits are needed)."""
        if self.done:
            self.result.stopped_by = "max_steps"

    def prefill(self) -> tuple[np.ndarray, np.ndarray]:
        """The first call's rows [1, n, d] ([phones ; prompt]) and mask [1, 1, n, n]."""
        rows = np.concatenate([self.embeddings.phones(self.phone_ids, self.bert), self.embeddings.tokens(self.prompt)])
        self.cached = len(rows)
        return rows[None].astype(np.float32), prefill_mask(len(self.phone_ids), len(self.prompt))

    def choose(self, logits: np.ndarray) -> int | None:
        """The next token from the last call's logits, or None when the segment ends here (``done``)."""
        options, result = self.options, self.result
        step = result.steps
        result.steps = step + 1
        allowed = logits[:-1] if step < options.eos_ban_steps else logits  # EOS is the last column
        penalized = penalize(allowed, np.asarray(self.history), options.repetition_penalty)
        token = sample(penalized_to_probs(penalized, options), self.rng)
        # Upstream penalises its logits in place before this test, so the argmax is taken after the penalty.
        if token == EOS or int(np.argmax(penalized)) == EOS:
            result.stopped_by, self.done = "eos", True
            return None
        result.tokens.append(token)
        self.history.append(token)
        if step + 1 == options.max_steps:
            result.stopped_by, self.done = "max_steps", True  # the cap: no logits needed for one more token
        return token

    def next_row(self) -> np.ndarray:
        """The last chosen token's row [1, 1, d] for the next call (its mask: all ``cached`` rows, zeros)."""
        token = self.result.tokens[-1]
        self.cached += 1
        position = len(self.prompt) + len(self.result.tokens) - 1
        return self.embeddings.tokens(np.array([token]), start=position)[None].astype(np.float32)


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
    """Upstream's AR loop (``Decoding``) on one session, one token at a time: each token is yielded as soon as it is
    sampled; ``result`` (if given) records the run."""
    decoding = Decoding(embeddings, phone_ids, bert, prompt, options, seed, result)
    if decoding.done:
        return
    session.reset()
    logits = session.run(*decoding.prefill())
    while (token := decoding.choose(logits)) is not None:
        yield token
        if decoding.done:
            return
        row = decoding.next_row()
        logits = session.run(row, np.zeros((1, 1, 1, decoding.cached), dtype=np.float32))


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
