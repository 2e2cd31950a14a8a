"""The exported SoVITS graphs reproduce upstream's audio through OpenVINO and ONNX Runtime, whole and windowed."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest
import torch

from gsv_edge.convert.checkpoint import load_sovits
from gsv_edge.convert.export import sovits as export
from gsv_edge.convert.report import snr_db
from gsv_edge.runtime.backends.onnxruntime_backend import OnnxSoVITSDecoder, OnnxSoVITSEncoder
from gsv_edge.runtime.backends.openvino_backend import OpenVINOSoVITSDecoder, OpenVINOSoVITSEncoder
from gsv_edge.runtime.vocoder import SAMPLES_PER_FRAME, decode_span, decode_whole, frames_for, resample
from tests.conftest import load_cases, require_conformance

F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def _sessions(reference, backend, tmp_path):
    enc, dec = export.SoVITSEncoderGraph(reference), export.SoVITSDecoderGraph(reference)
    if backend == "openvino":
        core = ov.Core()
        return (
            OpenVINOSoVITSEncoder(core.compile_model(export.encoder_to_openvino(enc), "CPU", F32)),
            OpenVINOSoVITSDecoder(core.compile_model(export.decoder_to_openvino(dec), "CPU", F32)),
        )

    def session(path):
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    return (
        OnnxSoVITSEncoder(session(export.encoder_to_onnx(enc, tmp_path / "enc.onnx"))),
        OnnxSoVITSDecoder(session(export.decoder_to_onnx(dec, tmp_path / "dec.onnx"))),
    )


def _ge(reference, cases):
    sv = torch.from_numpy(cases["sv_emb"]) if "sv_emb" in cases else None
    return reference.compute_ge(torch.from_numpy(cases["spec"]), sv).numpy()


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_sovits_graphs_reproduce_upstream(variant_dir, backend, tmp_path):
    cases = load_cases(variant_dir)
    reference = export.load_reference(load_sovits(variant_dir / "sovits.pth"))
    encoder, decoder = _sessions(reference, backend, tmp_path)
    args = (encoder, decoder, cases["codes"], cases["tgt_phones"], _ge(reference, cases))
    n = len(cases["codes"])
    runs = {
        "audio_noise0": decode_whole(*args, noise=np.zeros((192, frames_for(n)), np.float32)),
        "audio_speed125": decode_whole(*args, speed=1.25, noise=np.zeros((192, frames_for(n, 1.25)), np.float32)),
        "audio_noise05": decode_whole(*args, noise_scale=0.5, noise=cases["noise05_randn"]),
    }
    for name, audio in runs.items():
        assert audio.shape == cases[name].shape, name
        assert snr_db(audio, cases[name]) >= 60, name
        # 2e-4: an utterance this short is decoded in 48-frame windows with 12 frames of context, which is
        # 101 dB from one whole decode here (max 1.5e-4 at peak 1.0; 16 frames of context: 107 dB, 4e-5)
        np.testing.assert_allclose(audio, cases[name], rtol=0, atol=2e-4, err_msg=name)


def test_host_resample_matches_torch():
    x = np.random.default_rng(0).standard_normal((3, 80)).astype(np.float32)
    for frames in (65, 80, 81, 200, 7):
        expected = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=frames, mode="linear")[0]
        np.testing.assert_allclose(resample(x, frames), expected.numpy(), rtol=0, atol=1e-5)  # float rounding


class _ShapeLog:
    """A decoder that records the frame count of every call."""

    def __init__(self, decoder):
        self.decoder, self.frames = decoder, set()

    def run(self, z_p, ge):
        self.frames.add(z_p.shape[-1])
        return self.decoder.run(z_p, ge)


def test_window_decode_matches_whole_decode():
    """Streaming decodes windows of frames with context on both sides; they must match a whole decode."""
    folder = require_conformance("v2-tiny")
    cases = load_cases(folder)
    reference = export.load_reference(load_sovits(folder / "sovits.pth"))
    core = ov.Core()
    decoder = OpenVINOSoVITSDecoder(
        core.compile_model(export.decoder_to_openvino(export.SoVITSDecoderGraph(reference)), "CPU", F32)
    )
    rng = np.random.default_rng(0)
    z_p = rng.standard_normal((1, 192, 160)).astype(np.float32)
    ge = _ge(reference, cases)
    whole = decoder.run(z_p, ge[None])
    # the decoder only ever sees the fixed window lengths; 160 frames take several 144-frame windows
    windowed = decode_span(decoder, z_p, ge[None], 0, 160)
    # a stream's spans: 24 frames at a time, each with the decoder's reach of prior beyond it
    spans = [decode_span(decoder, z_p[:, :, : a + 40], ge[None], a, a + 24, final=False) for a in range(0, 120, 24)]
    spans.append(decode_span(decoder, z_p, ge[None], 120, 160))
    # a profile with one window length (decoder_windows = [96]): every call has that shape, still exact
    seen = _ShapeLog(decoder)
    single = decode_span(seen, z_p, ge[None], 0, 160, windows=(96,))
    single_spans = [decode_span(seen, z_p[:, :, : a + 40], ge[None], a, a + 24, final=False, windows=(96,))
                    for a in range(0, 120, 24)]  # fmt: skip
    single_spans.append(decode_span(seen, z_p, ge[None], 120, 160, windows=(96,)))
    assert seen.frames == {96}
    for audio in (windowed, np.concatenate(spans), single, np.concatenate(single_spans)):
        assert audio.shape == whole.shape == (160 * SAMPLES_PER_FRAME,)
        assert snr_db(audio, whole) >= 60
    # without context the window edges are visibly wrong: the context is what makes it match
    bare = np.concatenate([decoder.run(z_p[:, :, a : a + 24].copy(), ge[None]) for a in range(0, 160, 24)])
    assert snr_db(bare[: len(whole)], whole) < 40


@pytest.mark.parametrize(
    ("kernel", "dilation", "padding", "bias"), [(1, 1, 0, True), (3, 1, 0, True), (5, 2, 4, False)]
)
def test_conv_as_matmul_computes_the_convolution(kernel, dilation, padding, bias):
    torch.manual_seed(kernel)
    conv = torch.nn.Conv1d(6, 4, kernel, dilation=dilation, padding=padding, bias=bias)
    x = torch.randn(1, 6, 17)
    with torch.no_grad():
        np.testing.assert_allclose(export.ConvAsMatMul(conv)(x).numpy(), conv(x).numpy(), rtol=0, atol=1e-5)


def test_encoder_with_ffn_matmuls_computes_the_same_prior(variant_dir):
    cases = load_cases(variant_dir)
    reference = export.load_reference(load_sovits(variant_dir / "sovits.pth"))
    rewritten = export.with_ffn_matmuls(reference)
    assert any(isinstance(m, export.ConvAsMatMul) for m in rewritten.modules())
    assert not any(isinstance(m, export.ConvAsMatMul) for m in reference.modules())  # the original is untouched
    args = torch.from_numpy(cases["codes"])[None], torch.from_numpy(cases["tgt_phones"])[None]
    ge = torch.from_numpy(_ge(reference, cases))[None]
    with torch.no_grad():
        for want, got in zip(reference.encode(*args, ge), rewritten.encode(*args, ge), strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-5)


class _PaddingShapeLog(_ShapeLog):
    """_ShapeLog for a decoder that takes ``frames`` (the real ones of a padded window)."""

    def run(self, z_p, ge, frames=None):
        self.frames.add(z_p.shape[-1])
        return self.decoder.run(z_p, ge, frames=frames)


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_a_short_utterance_is_padded_to_the_window_and_decoded_as_itself(backend, tmp_path):
    """Shorter than the smallest window, an utterance is zero-padded to it and the decoder is told where it ends:
    the audio equals a decode at its own length, and the decoder never meets another input shape (OpenVINO keeps
    memory for every shape it has run). Without the ``frames`` input the padding would change its last frames."""
    folder = require_conformance("v2-tiny")
    reference = export.load_reference(load_sovits(folder / "sovits.pth"))
    _, decoder = _sessions(reference, backend, tmp_path)
    rng = np.random.default_rng(3)
    ge = _ge(reference, load_cases(folder))[None]
    seen = _PaddingShapeLog(decoder)
    for frames in (1, 7, 30, 47):
        z_p = rng.standard_normal((1, 192, frames)).astype(np.float32)
        own_length = decoder.run(z_p, ge)
        padded = decode_span(seen, z_p, ge, 0, frames, windows=(48, 96))
        assert padded.shape == own_length.shape == (frames * SAMPLES_PER_FRAME,)
        np.testing.assert_allclose(padded, own_length, rtol=0, atol=1e-4)
        window = np.zeros((1, 192, 48), np.float32)
        window[:, :, :frames] = z_p
        unmasked = decoder.run(window, ge)[: frames * SAMPLES_PER_FRAME]
        assert np.abs(unmasked - own_length).max() > 1e-2  # what the frames input is for
    assert seen.frames == {48}


@pytest.mark.parametrize(("kernel", "stride"), [(16, 10), (16, 8), (8, 2), (2, 2), (4, 2), (11, 5)])
def test_polyphase_upsample_equals_the_transposed_convolution(kernel, stride):
    """The decoder graph's upsampling layers are plain convolutions over the input, one group of channels per
    output phase; they must compute what the transposed convolution computes (v2 uses the first four)."""
    torch.manual_seed(kernel * stride)
    up = torch.nn.ConvTranspose1d(6, 4, kernel, stride, padding=(kernel - stride) // 2)
    x = torch.randn(1, 6, 13)
    with torch.no_grad():
        torch.testing.assert_close(export.PolyphaseUpsample(up)(x), up(x), rtol=0, atol=1e-6)


def _tiny_model():
    return export.load_reference(load_sovits(require_conformance("v2-tiny") / "sovits.pth"))


def test_the_decoder_graph_leaves_the_reference_model_alone():
    model = _tiny_model()
    graph = export.SoVITSDecoderGraph(model)
    assert isinstance(model.dec.ups[0], torch.nn.ConvTranspose1d)
    assert isinstance(graph.model.dec.ups[0], export.PolyphaseUpsample) and graph.model.flow is model.flow
