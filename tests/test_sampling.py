"""The numpy sampler follows upstream's rules (checked against upstream's own logits_to_probs output)."""

from __future__ import annotations

import numpy as np
import pytest

from gsv_edge.runtime.sampling import SamplingOptions, logits_to_probs, sample
from tests.conftest import load_cases


def test_probe_matches_upstream(variant_dir):
    cases = load_cases(variant_dir)
    options = SamplingOptions(top_k=15, top_p=0.9, temperature=0.8, repetition_penalty=1.35)
    probs = logits_to_probs(cases["sample_probe_logits"], cases["sample_probe_prev_tokens"], options)
    np.testing.assert_allclose(probs, cases["sample_probe_probs"], rtol=0, atol=1e-6)


def test_penalty_counts_each_token_once_and_respects_sign():
    logits = np.array([2.0, -2.0, 1.0, 0.5], np.float32)
    options = SamplingOptions(top_k=0, repetition_penalty=2.0)
    probs = logits_to_probs(logits, np.array([0, 0, 0, 1]), options)
    expected = np.exp(np.array([1.0, -4.0, 1.0, 0.5]))
    np.testing.assert_allclose(probs, expected / expected.sum(), rtol=1e-6)


def test_top_p_removes_the_crossing_token_but_keeps_the_best():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))
    probs = logits_to_probs(logits, np.array([], int), SamplingOptions(top_k=0, top_p=0.7, repetition_penalty=1.0))
    # cumulative 0.5, 0.8 > 0.7: the second token crosses the threshold and is removed as well (no shift)
    np.testing.assert_allclose(probs, [1.0, 0, 0, 0], atol=1e-7)
    probs = logits_to_probs(logits, np.array([], int), SamplingOptions(top_k=0, top_p=0.1, repetition_penalty=1.0))
    assert probs[0] == pytest.approx(1.0)


def test_top_k_and_sampling_frequencies():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1], np.float32))
    probs = logits_to_probs(logits, np.array([], int), SamplingOptions(top_k=2, repetition_penalty=1.0))
    np.testing.assert_allclose(probs, [4 / 7, 3 / 7, 0, 0], rtol=1e-6)
    draws = np.bincount([sample(probs, rng) for _ in range(20000)], minlength=4) / 20000
    np.testing.assert_allclose(draws, probs, atol=0.015)
    a = [sample(probs, np.random.default_rng(7)) for _ in range(5)]
    b = [sample(probs, np.random.default_rng(7)) for _ in range(5)]
    assert a == b
