"""Choosing the next semantic token from the GPT's logits, with upstream GPT-SoVITS's rules, in numpy.

Order matters and is upstream's: repetition penalty → top-p → temperature → top-k → softmax → sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EOS = 1024
# EOS may not be chosen in the first 11 steps (upstream drops the EOS column of the logits there).
EOS_BAN_STEPS = 11
MAX_STEPS = 1500


@dataclass(frozen=True)
class SamplingOptions:
    """How the AR loop picks tokens; the defaults are upstream's."""

    top_k: int = 15
    """Keep only the k most likely tokens (upstream reads this from the GPT config; v1 ships 5)."""
    top_p: float = 1.0
    """Nucleus threshold; 1 switches it off."""
    temperature: float = 1.0
    """Divides the logits; below 1 sharpens, above 1 flattens."""
    repetition_penalty: float = 1.35
    """Penalises every token already in the prompt or the output (each distinct token once)."""
    max_steps: int = MAX_STEPS
    """Hard cap on generated tokens (25 tokens = 1 s of audio)."""
    eos_ban_steps: int = EOS_BAN_STEPS
    """EOS may not be chosen in this many first steps (upstream: 11; ``max_steps`` makes the length fixed)."""


def logits_to_probs(logits: np.ndarray, previous: np.ndarray, options: SamplingOptions) -> np.ndarray:
    """Probabilities over the vocabulary after upstream's penalty, top-p, temperature and top-k."""
    return penalized_to_probs(penalize(logits, previous, options.repetition_penalty), options)


def penalize(logits: np.ndarray, previous: np.ndarray, penalty: float) -> np.ndarray:
    """A copy of ``logits`` with every token in ``previous`` made less likely: negative × penalty,
    positive ÷ penalty, each distinct token once."""
    logits = np.array(logits, dtype=np.float32, copy=True)
    if penalty != 1.0 and len(previous):
        seen = np.unique(previous)
        score = logits[seen]
        logits[seen] = np.where(score < 0, score * penalty, score / penalty)
    return logits


def penalized_to_probs(logits: np.ndarray, options: SamplingOptions) -> np.ndarray:
    """Top-p, temperature, top-k and softmax over already penalized logits."""
    logits = np.array(logits, dtype=np.float32, copy=True)
    if options.top_p < 1.0:
        order = np.argsort(-logits, kind="stable")
        sorted_logits = logits[order]
        cumulative = np.cumsum(_softmax(sorted_logits))
        # No shift: the token that crosses top_p is removed too, except that the best token always stays.
        remove = cumulative > options.top_p
        remove[0] = False
        logits[order[remove]] = -np.inf
    logits = logits / max(options.temperature, 1e-5)
    if options.top_k:
        k = min(options.top_k, logits.size)
        pivot = np.partition(logits, -k)[-k]
        logits = np.where(logits < pivot, -np.inf, logits)
    return _softmax(logits)


def sample(probs: np.ndarray, rng: np.random.Generator) -> int:
    """Draw one token: argmax(p / Exponential(1)) picks token i with probability p_i (an exponential race)."""
    race = rng.exponential(size=probs.shape)
    return int(np.argmax(probs / race))


def _softmax(x: np.ndarray) -> np.ndarray:
    finite_max = np.max(x[np.isfinite(x)]) if np.isfinite(x).any() else 0.0
    e = np.exp(x - finite_max)
    return (e / e.sum()).astype(np.float32)
