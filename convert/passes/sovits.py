"""The sovits pass: SoVITS split at the prior into sovits_enc (tokens + phones + speaker → prior) and sovits_dec
(flow + vocoder → audio).

Writes ``sovits_enc.<fmt>.xml/.bin`` and ``sovits_dec.<fmt>.xml/.bin`` (the profile's SoVITS format; INT8
quantizes the decoder with calibration priors) and, when the profile wants ONNX, ``sovits_dec.fp32.onnx`` and
``sovits_enc.fp32.onnx`` or its 8-bit copy ``sovits_enc.int8.onnx``. Checks: whole-utterance audio of both fp32
pairs against the torch reference (SNR, ``THRESHOLDS["sovits"]``), the shipped IR pair run with the profile's
precision hint against fp32, and the 8-bit ONNX encoder against the fp32 one through the same decoder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gsv_edge.convert.gate import choose, sovits_gate
from gsv_edge.convert.passes.common import CALIBRATION_TEXTS, CHECK_PHONES, F32, save_openvino
from gsv_edge.convert.report import THRESHOLDS, snr_db
from gsv_edge.runtime.pack import GraphFile

if TYPE_CHECKING:
    from gsv_edge.convert.convert import Context

CHECK_TOKENS = 60
CALIBRATION_PRIORS = 8  # priors the INT8 decoder is calibrated on
STREAM_CHECK_SENTENCES = 3  # calibration sentences the streamed-vs-whole SNR is measured on


def run(ctx: Context) -> None:
    """Export both halves, verify fp32 audio against the reference, save the profile's format and measure it."""
    import nncf
    import onnxruntime as ort
    import openvino as ov

    from gsv_edge.convert.export import sovits as export
    from gsv_edge.convert.quantize import quantize_sovits_decoder
    from gsv_edge.runtime.backends.onnxruntime_backend import OnnxSoVITSDecoder, OnnxSoVITSEncoder
    from gsv_edge.runtime.backends.openvino_backend import OpenVINOSoVITSDecoder, OpenVINOSoVITSEncoder
    from gsv_edge.runtime.vocoder import decode_whole

    report = ctx.report
    reference = export.load_reference(ctx.sovits)
    gin = reference.dec.cond.in_channels
    n_symbols = int(ctx.sovits.state_dict["enc_p.text_embedding.weight"].shape[0])
    rng = np.random.default_rng(4321)
    codes, phones = rng.integers(0, 1024, CHECK_TOKENS), rng.integers(0, n_symbols, CHECK_PHONES)
    ge = (0.3 * rng.standard_normal(gin)).astype(np.float32)
    noise = rng.standard_normal((192, 2 * CHECK_TOKENS)).astype(np.float32)
    t = {"codes": torch.from_numpy(codes), "phones": torch.from_numpy(phones), "ge": torch.from_numpy(ge)}
    expected = reference.decode(t["codes"], t["phones"], t["ge"], noise_scale=0.5, noise=torch.from_numpy(noise))
    expected = expected.numpy()

    def audio_of(encoder, decoder):
        return decode_whole(encoder, decoder, codes, phones, ge, noise_scale=0.5, noise=noise)

    core = ov.Core()
    enc_model = export.encoder_to_openvino(export.SoVITSEncoderGraph(reference))
    dec_model = export.decoder_to_openvino(export.SoVITSDecoderGraph(reference))
    fp32_audio = audio_of(
        OpenVINOSoVITSEncoder(core.compile_model(enc_model, "CPU", F32)),
        OpenVINOSoVITSDecoder(core.compile_model(dec_model, "CPU", F32)),
    )
    snr = snr_db(fp32_audio, expected)
    report.verify(("sovits", "openvino", "fp32", "reference"), {"snr_db": snr}, THRESHOLDS["sovits"])

    hint = ctx.precision_hint.get("INFERENCE_PRECISION_HINT", "device default")

    def build(fmt: str) -> tuple[tuple[list[str], list[str]], dict[str, float]]:
        """One candidate IR pair: saved (INT8: the decoder quantized with calibration priors), its audio run
        with the profile's precision hint measured against the fp32 pair's."""
        decoder = dec_model
        if fmt == "int8":
            decoder = quantize_sovits_decoder(
                export.decoder_to_openvino(export.SoVITSDecoderGraph(reference)),
                nncf.Dataset(calibration()), CALIBRATION_PRIORS,
            )  # fmt: skip
        enc_files = save_openvino(enc_model, ctx.staging, f"sovits_enc.{fmt}", fp16=fmt != "fp32")
        dec_files = save_openvino(decoder, ctx.staging, f"sovits_dec.{fmt}", fp16=fmt == "fp16")
        shipped = audio_of(*_compiled_pair(core, ctx, enc_files, dec_files))
        metrics = {"snr_db": snr_db(shipped, fp32_audio)}
        if fmt != "fp32" or hint != "f32":
            report.verify(("sovits", "openvino", f"{fmt} ({hint})", "fp32"), metrics)
        return (enc_files, dec_files), metrics

    def calibration() -> list[dict[str, np.ndarray]]:
        samples = []
        encoder = OpenVINOSoVITSEncoder(core.compile_model(enc_model, "CPU", F32))
        for _ in range(CALIBRATION_PRIORS):
            m, logs = encoder.run(rng.integers(0, 1024, (1, 30)), rng.integers(0, n_symbols, (1, 20)), ge[None])
            z_p = m + rng.standard_normal(m.shape).astype(np.float32) * np.exp(logs) * 0.5
            frames = np.array([z_p.shape[-1]])  # a whole window: every frame real
            samples.append({"z_p": z_p[None].astype(np.float32), "ge": ge[None], "frames": frames})
        return samples

    def discard(files: tuple[list[str], list[str]]) -> None:
        for name in files[0] + files[1]:
            (ctx.staging / name).unlink()

    gate = sovits_gate(ctx.profile.convert)
    fmt, (enc_files, dec_files) = choose(
        ("sovits", "openvino"), ctx.sovits_formats, gate, build, discard, report, ctx.sovits_forced
    )
    ctx.graphs.append(GraphFile("sovits_enc", "openvino", fmt, enc_files, export.ENC_INPUTS, export.ENC_OUTPUTS))
    ctx.graphs.append(GraphFile("sovits_dec", "openvino", fmt, dec_files, export.DEC_INPUTS, export.DEC_OUTPUTS))
    streamed = streamed_vs_whole(*_compiled_pair(core, ctx, enc_files, dec_files), ge, ctx)
    report.verify(("sovits_stream", "openvino", f"{fmt} ({hint})", "whole"), streamed)

    if not ctx.profile.convert.onnx:
        return
    enc_path = export.encoder_to_onnx(export.SoVITSEncoderGraph(reference), ctx.staging / "sovits_enc.fp32.onnx")
    dec_path = export.decoder_to_onnx(export.SoVITSDecoderGraph(reference), ctx.staging / "sovits_dec.fp32.onnx")
    providers = ["CPUExecutionProvider"]
    onnx_decoder = OnnxSoVITSDecoder(ort.InferenceSession(str(dec_path), providers=providers))
    onnx_audio = audio_of(OnnxSoVITSEncoder(ort.InferenceSession(str(enc_path), providers=providers)), onnx_decoder)
    snr = snr_db(onnx_audio, expected)
    report.verify(("sovits", "onnxruntime", "fp32", "reference"), {"snr_db": snr}, THRESHOLDS["sovits"])
    if ctx.sovits_enc_onnx_format == "int8":
        enc_path = _int8_onnx_encoder(ctx, reference, enc_path, lambda enc: audio_of(enc, onnx_decoder), onnx_audio)
    precision = ctx.sovits_enc_onnx_format
    ctx.graphs.append(
        GraphFile("sovits_enc", "onnxruntime", precision, [enc_path.name], export.ENC_INPUTS, export.ENC_OUTPUTS)
    )
    ctx.graphs.append(
        GraphFile("sovits_dec", "onnxruntime", "fp32", [dec_path.name], export.DEC_INPUTS, export.DEC_OUTPUTS)
    )


def _int8_onnx_encoder(ctx: Context, reference, fp32_path: Path, audio_with, fp32_audio) -> Path:
    """The ONNX encoder with its FFN weights in 8 bits (see ``quantize_sovits_encoder_onnx``), checked against
    the fp32 one through the same decoder; replaces the fp32 file in the pack."""
    import onnxruntime as ort

    from gsv_edge.convert.export import sovits as export
    from gsv_edge.convert.quantize import quantize_sovits_encoder_onnx
    from gsv_edge.runtime.backends.onnxruntime_backend import OnnxSoVITSEncoder

    matmul_path = export.encoder_to_onnx(
        export.SoVITSEncoderGraph(export.with_ffn_matmuls(reference)), ctx.staging / "sovits_enc.matmul.onnx"
    )
    int8_path = quantize_sovits_encoder_onnx(matmul_path, ctx.staging / "sovits_enc.int8.onnx", export.FFN_MATMUL)
    session = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
    snr = snr_db(audio_with(OnnxSoVITSEncoder(session)), fp32_audio)
    ctx.report.verify(("sovits_enc", "onnxruntime", "int8", "fp32"), {"snr_db": snr})
    matmul_path.unlink()
    fp32_path.unlink()  # verified against the reference above; the device gets the 8-bit file
    return int8_path


def _compiled_pair(core, ctx: Context, enc_files: list[str], dec_files: list[str]):
    """The saved IR pair compiled the way the device runs it (the profile's precision hint)."""
    from gsv_edge.runtime.backends.openvino_backend import OpenVINOSoVITSDecoder, OpenVINOSoVITSEncoder

    return (
        OpenVINOSoVITSEncoder(core.compile_model(ctx.staging / enc_files[0], "CPU", ctx.precision_hint)),
        OpenVINOSoVITSDecoder(core.compile_model(ctx.staging / dec_files[0], "CPU", ctx.precision_hint)),
    )


def streamed_vs_whole(encoder, decoder, ge: np.ndarray, ctx: Context) -> dict[str, float]:
    """SNR of the audio streamed chunk by chunk with the profile's streaming settings against the whole-utterance
    decode of the same tokens, same noise, same graphs, over the first calibration sentences (their phones from
    the text front end, about 2.5 random tokens per phone as speech has): the lowest and the mean.

    Streaming runs the encoder on token prefixes, whose attention sees less right context than a whole decode
    (``runtime/streaming.py``), so the figure depends on the weights: on random weights the attention is not
    local and the figure says little about a trained model's."""
    from gsv_edge.runtime.streaming import SegmentStreamer
    from gsv_edge.runtime.text import phonemize
    from gsv_edge.runtime.vocoder import decode_whole

    plan, rng = ctx.profile.settings.streaming, np.random.default_rng(99)
    figures = []
    for text in CALIBRATION_TEXTS[:STREAM_CHECK_SENTENCES]:
        phones = np.concatenate([s.phone_ids for s in phonemize(text, "zh", version=ctx.sovits.symbol_version)])
        tokens = rng.integers(0, 1024, max(plan.first_chunk_tokens, round(2.5 * len(phones))))
        whole = decode_whole(encoder, decoder, tokens, phones, ge, noise_scale=0.5, rng=np.random.default_rng(1))
        streamer = SegmentStreamer(encoder, decoder, phones, ge, plan, noise_scale=0.5, rng=np.random.default_rng(1))
        pieces = [streamer.push(token) for token in tokens] + [streamer.finish()]
        figures.append(snr_db(np.concatenate(pieces), whole))
    return {"snr_db": min(figures), "mean_snr_db": float(np.mean(figures))}
