"""The torch reference GPT and AR loop reproduce upstream's recorded run on every conformance variant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsv_edge.convert.checkpoint import load_gpt
from gsv_edge.convert.reference.ar_loop import generate, logits_to_probs
from gsv_edge.convert.reference.gpt import Text2SemanticDecoder
from tests.conftest import load_cases, require_conformance


def _model(folder):
    ckpt = load_gpt(folder / "gpt.ckpt")
    model = Text2SemanticDecoder(ckpt.model_config).eval()
    model.load_state_dict(ckpt.state_dict, strict=True)
    return model


def _inputs(cases):
    return (
        torch.from_numpy(cases["gpt_phones"]),
        torch.from_numpy(cases["gpt_bert"]),
        torch.from_numpy(cases["gpt_prompt"]),
    )


def test_prefill_and_every_step_match_upstream(variant_dir):
    cases = load_cases(variant_dir)
    model = _model(variant_dir)
    phones, bert, prompt = _inputs(cases)
    logits, cache = model.prefill(phones, bert, prompt)
    np.testing.assert_allclose(logits.numpy(), cases["gpt_prefill_logits"], rtol=0, atol=1e-4)
    # teacher-forced through upstream's own tokens: every step's raw logits
    generated = cases["gpt_infer_y"][len(prompt) :]
    for step, expected in enumerate(cases["gpt_step_logits"][1:], start=1):
        logits, cache = model.decode_step(int(generated[step - 1]), len(prompt) + step - 1, cache)
        np.testing.assert_allclose(logits.numpy(), expected, rtol=0, atol=1e-4)


def test_greedy_loop_matches_upstream(variant_dir):
    cases = load_cases(variant_dir)
    result = generate(_model(variant_dir), *_inputs(cases), top_k=1, early_stop_num=60, seed=0)
    n_prompt = len(cases["gpt_prompt"])
    assert result.generated == cases["gpt_infer_y"][n_prompt:].tolist()
    assert result.idx == int(cases["gpt_infer_idx"])
    assert result.upstream_tokens == cases["gpt_greedy_tokens"].tolist()


def test_sample_probe_matches_upstream(variant_dir):
    cases = load_cases(variant_dir)
    probs = logits_to_probs(
        torch.from_numpy(cases["sample_probe_logits"]),
        torch.from_numpy(cases["sample_probe_prev_tokens"]),
        temperature=0.8, top_k=15, top_p=0.9, repetition_penalty=1.35,
    )  # fmt: skip
    np.testing.assert_allclose(probs.numpy(), cases["sample_probe_probs"], rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def v2():
    folder = require_conformance("v2-tiny")
    return _model(folder), _inputs(load_cases(folder))


def test_seeded_sampling_is_reproducible_and_never_ends_early(v2):
    model, inputs = v2
    runs = [generate(model, *inputs, top_k=15, temperature=1.2, early_stop_num=40, seed=s).generated for s in (1, 1, 2)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    for seed in range(8):
        result = generate(model, *inputs, top_k=1025, temperature=3.0, early_stop_num=40, seed=seed)
        assert result.idx >= 11, "EOS must be impossible during the first 11 steps"


def test_prefill_mask_semantics(v2):
    model, (phones, bert, prompt) = v2
    base = model.prefill(phones, bert, prompt)[1]
    # a later prompt token must not change an earlier prompt row, nor any phone row
    changed_prompt = prompt.clone()
    changed_prompt[-1] = (changed_prompt[-1] + 1) % 1024
    other = model.prefill(phones, bert, changed_prompt)[1]
    n = len(phones)
    torch.testing.assert_close(other[-1][0][:, :, : n + len(prompt) - 1], base[-1][0][:, :, : n + len(prompt) - 1])
    # a target phone changes the reference phones' rows: phones see all phones
    changed_phones = phones.clone()
    changed_phones[-1] = (changed_phones[-1] + 1) % 732
    moved = model.prefill(changed_phones, bert, prompt)[1]
    assert not torch.allclose(moved[-1][0][:, :, 0], base[-1][0][:, :, 0])
