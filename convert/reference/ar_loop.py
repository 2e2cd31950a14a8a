"""The reference autoregressive loop, with upstream's sampling rules, in torch.

Rules (upstream's, as the conformance data records them):
- repetition penalty over the prompt and everything generated (each distinct token once; negative × r,
  positive ÷ r) → top-p (no shift, the best token always kept) → ÷ temperature → top-k → softmax → sample by an
  exponential race;
- EOS is not selectable for the first 11 steps;
- stop when the argmax of the penalised logits or the sample is EOS (the EOS is not kept), or when more than
  ``early_stop_num`` tokens exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gsv_edge.convert.reference.gpt import Text2SemanticDecoder

EOS_BAN_STEPS = 11


def logits_to_probs(
    logits: torch.Tensor,
    previous: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = 15,
    top_p: float = 1.0,
    repetition_penalty: float = 1.35,
) -> torch.Tensor:
    """Upstream's filtering of one logits vector [V] into probabilities."""
    logits = penalize(logits, previous, repetition_penalty)
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        remove = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1) > top_p
        remove[0] = False
        logits = logits.masked_fill(remove.scatter(0, order, remove), float("-inf"))
    logits = logits / max(temperature, 1e-5)
    if top_k is not None:
        pivot = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = torch.where(logits < pivot, float("-inf"), logits)
    return torch.softmax(logits, dim=-1)


def penalize(logits: torch.Tensor, previous: torch.Tensor, penalty: float) -> torch.Tensor:
    logits = logits.clone()
    if penalty != 1.0 and previous.numel():
        seen = torch.unique(previous)
        score = logits[seen]
        logits[seen] = torch.where(score < 0, score * penalty, score / penalty)
    return logits


@dataclass
class ReferenceGeneration:
    """The loop's result, in upstream's terms."""

    generated: list[int]
    """Every token the loop kept, in order (EOS excluded)."""
    idx: int
    """Upstream's ``idx``: the index of the last step run."""
    stopped_by: str
    """"eos" or "early_stop"."""

    @property
    def upstream_tokens(self) -> list[int]:
        """What upstream hands to SoVITS: ``y[-idx:]``. When the loop ends by early_stop_num, that slice is one
        shorter than what was generated, so upstream drops the first generated token (an off-by-one)."""
        return self.generated[-self.idx :] if self.idx else []


@torch.no_grad()
def generate(
    model: Text2SemanticDecoder,
    phones: torch.Tensor,
    bert: torch.Tensor,
    prompt: torch.Tensor,
    top_k: int | None = 15,
    top_p: float = 1.0,
    temperature: float = 1.0,
    repetition_penalty: float = 1.35,
    early_stop_num: int = 1500,
    seed: int | None = None,
) -> ReferenceGeneration:
    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    logits, cache = model.prefill(phones, bert, prompt)
    history = prompt.tolist()
    generated: list[int] = []
    for step in range(early_stop_num + 1):
        allowed = logits[:-1] if step < EOS_BAN_STEPS else logits  # EOS is the last column
        penalized = penalize(allowed, torch.tensor(history), repetition_penalty)
        probs = logits_to_probs(penalized, torch.tensor([], dtype=torch.long), temperature, top_k, top_p, 1.0)
        race = torch.empty_like(probs).exponential_(1, generator=generator)
        token = int(torch.argmax(probs / race))
        if token == model.eos or int(torch.argmax(penalized)) == model.eos:
            return ReferenceGeneration(generated, step, "eos")
        generated.append(token)
        history.append(token)
        if len(generated) > early_stop_num:
            return ReferenceGeneration(generated, step, "early_stop")
        logits, cache = model.decode_step(token, len(prompt) + len(generated) - 1, cache)
    raise AssertionError("unreachable: early_stop_num bounds the loop")
