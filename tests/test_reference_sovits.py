"""The torch reference SoVITS reproduces upstream's recorded arrays on every conformance variant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsv_edge.convert.checkpoint import load_sovits
from gsv_edge.convert.reference import build_sovits
from gsv_edge.convert.reference.spectrogram import linear_spectrogram
from tests.conftest import load_cases, require_conformance

ATOL = 1e-4  # conformance README §8


def _model(folder):
    ckpt = load_sovits(folder / "sovits.pth")
    model = build_sovits(ckpt.model_config, ckpt.version).eval()
    model.load_state_dict(ckpt.state_dict, strict=True)
    return model


@pytest.fixture
def setup(variant_dir):
    cases = load_cases(variant_dir)
    model = _model(variant_dir)
    sv = torch.from_numpy(cases["sv_emb"]) if "sv_emb" in cases else None
    ge = model.compute_ge(torch.from_numpy(cases["spec"]), sv)
    return model, cases, ge


def _t(array):
    return torch.from_numpy(array)


def test_spectrogram_and_ge(setup):
    model, cases, ge = setup
    np.testing.assert_allclose(linear_spectrogram(_t(cases["ref_wav32k"])).numpy(), cases["spec"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(ge.numpy(), cases["ge"], rtol=0, atol=ATOL)
    if model.is_pro:
        ref_only = model.ref_enc(_t(cases["spec"])[None, : model.ref_bins])[0, :, 0]
        np.testing.assert_allclose(ref_only.detach().numpy(), cases["ge_refenc"], rtol=0, atol=ATOL)
        np.testing.assert_allclose(model.ge_for_mrte(ge).detach().numpy(), cases["ge512"], rtol=0, atol=ATOL)


def test_extract_latent_codes_are_identical(setup):
    model, cases, _ = setup
    assert model.extract_latent(_t(cases["ssl"])).tolist() == cases["ssl_codes"].tolist()
    hf_cases = load_cases(require_conformance("hf"))
    prompt = model.extract_latent(_t(hf_cases["hubert_last_hidden"]))
    assert prompt.tolist() == cases["hubert_prompt_codes"].tolist()


def test_decode_without_noise(setup):
    model, cases, ge = setup
    audio, parts = model.decode(_t(cases["codes"]), _t(cases["tgt_phones"]), ge, noise_scale=0, return_parts=True)
    np.testing.assert_allclose(parts["m"].numpy(), cases["noise0_enc_p_m"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(parts["logs"].numpy(), cases["noise0_enc_p_logs"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(parts["z"].numpy(), cases["noise0_flow_z"], rtol=0, atol=ATOL)
    assert audio.shape == (1280 * len(cases["codes"]),)
    np.testing.assert_allclose(audio.numpy(), cases["audio_noise0"], rtol=0, atol=ATOL)


def test_decode_speed_and_noise(setup):
    model, cases, ge = setup
    codes, phones = _t(cases["codes"]), _t(cases["tgt_phones"])
    fast = model.decode(codes, phones, ge, noise_scale=0, speed=1.25)
    assert fast.shape == cases["audio_speed125"].shape == ((int(80 / 1.25) + 1) * 640,)
    np.testing.assert_allclose(fast.numpy(), cases["audio_speed125"], rtol=0, atol=ATOL)
    noisy = model.decode(codes, phones, ge, noise_scale=0.5, noise=_t(cases["noise05_randn"])[None])
    np.testing.assert_allclose(noisy.numpy(), cases["audio_noise05"], rtol=0, atol=ATOL)


def test_the_speaker_vector_matters():
    model = _model(require_conformance("v2-tiny"))
    cases = load_cases(require_conformance("v2-tiny"))
    ge = model.compute_ge(_t(cases["spec"]))
    other = model.compute_ge(_t(np.ascontiguousarray(cases["spec"][:, ::-1])))
    assert not torch.allclose(ge, other)
    a = model.decode(_t(cases["codes"]), _t(cases["tgt_phones"]), ge, noise_scale=0)
    b = model.decode(_t(cases["codes"]), _t(cases["tgt_phones"]), other, noise_scale=0)
    assert (a - b).abs().max() > 1e-3


def test_v2pro_needs_its_speaker_verification_embedding():
    model = _model(require_conformance("v2pro-tiny"))
    cases = load_cases(require_conformance("v2pro-tiny"))
    with pytest.raises(ValueError, match="sv_emb"):
        model.compute_ge(_t(cases["spec"]))


@pytest.mark.parametrize("length", [1, 2, 4, 5, 9, 10, 33])
def test_relative_position_band_conversions(length):
    """The pad-and-reshape conversions between the 2w+1 relative-position band and the full [T, T] matrix
    agree with their definition, element by element, for lengths shorter and longer than the band."""
    from gsv_edge.convert.reference.attentions import MultiHeadAttention

    window = 4
    attention = MultiHeadAttention(8, 8, heads=2, window=window)
    generator = torch.Generator().manual_seed(length)
    band = torch.randn(1, 2, length, 2 * window + 1, generator=generator)
    full = torch.randn(1, 2, length, length, generator=generator)

    expected_full = torch.zeros(1, 2, length, length)
    expected_band = torch.zeros(1, 2, length, 2 * window + 1)
    for i in range(length):
        for j in range(length):
            if abs(j - i) <= window:
                expected_full[..., i, j] = band[..., i, j - i + window]
                expected_band[..., i, j - i + window] = full[..., i, j]

    assert torch.equal(attention._band_to_full(band, full), expected_full)
    assert torch.equal(attention._full_to_band(full), expected_band)


def test_a_padded_window_told_its_length_decodes_as_that_length():
    """decode_latent(z_p padded with zeros, frames=n): every conv of the flow and the generator sees zeros past
    frame n, as in a decode of the n frames alone, so their audio is that decode's."""
    from gsv_edge.convert.export import sovits as export

    folder = require_conformance("v2-tiny")
    reference = export.load_reference(load_sovits(folder / "sovits.pth"))
    generator = torch.Generator().manual_seed(0)
    ge = 0.3 * torch.randn(1, reference.dec.cond.in_channels, generator=generator)
    for frames in (1, 5, 20, 47, 48):
        z_p = torch.randn(1, 192, frames, generator=generator)
        window = torch.zeros(1, 192, 48)
        window[:, :, :frames] = z_p
        with torch.no_grad():
            alone = reference.decode_latent(z_p, ge)[0][0]
            told = reference.decode_latent(window, ge, torch.tensor([frames]))[0][0][: frames * 640]
        torch.testing.assert_close(told, alone, rtol=0, atol=5e-5)
