"""`gsv-edge convert`: checkpoints → a pack folder, as a pipeline of named passes.

    load + check pair → t2s (export, verify fp32 vs reference, compress, measure) → sovits (same) →
    voice-side graphs (ref_enc; hubert, sv, bert each optional) → g2pW (optional) → manifest, report, model card →
    rename into place

Everything is written into a hidden staging folder beside the target and renamed at the very end, so an
interrupted or failed conversion leaves nothing half written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch

from gsv_edge.convert.checkpoint import GptCheckpoint, SovitsCheckpoint, load_gpt, load_sovits
from gsv_edge.convert.reference.eres2net import SvCheckpoint
from gsv_edge.convert.report import T2S_FP32_TOLERANCE, Check, Report, logit_metrics
from gsv_edge.convert.versions import check_pair
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import GraphFile, Manifest, file_sha256
from gsv_edge.runtime.profile import SOVITS_FORMATS, T2S_FORMATS, Profile, load_profile

# Inputs for the accuracy checks: fixed, seeded, shaped like a short sentence with a voice prompt.
CHECK_PHONES = 40
CHECK_PROMPT = 50
CHECK_STEPS = 40


class ConversionFailed(GsvEdgeError):
    """The exported graphs do not compute what the reference computes; nothing was written."""


@dataclass
class ConvertOptions:
    """What to convert, for which device, into which folder."""

    gpt: Path
    sovits: Path
    output: Path
    profile: str = "laptop"
    t2s_format: str | None = None  # overrides the profile's t2s_weight_format
    sovits_format: str | None = None  # overrides the profile's sovits_weight_format
    hubert: Path | None = None
    bert: Path | None = None
    force: bool = False
    sv: Path | None = None  # upstream's ERes2NetV2 checkpoint (v2Pro/v2ProPlus voices)
    g2pw: Path | None = None  # upstream's G2PWModel folder (v2 zh polyphones)
    g2pw_dicts: list[Path] | None = None  # upstream's polyphonic.rep files (default: those in the g2pw folder)


@dataclass
class Context:
    """State shared by the passes of one conversion."""

    options: ConvertOptions
    profile: Profile
    gpt: GptCheckpoint
    sovits: SovitsCheckpoint
    staging: Path
    report: Report = field(default_factory=Report)
    graphs: list[GraphFile] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    sv: SvCheckpoint | None = None

    @property
    def t2s_format(self) -> str:
        return self.options.t2s_format or self.profile.convert.t2s_weight_format

    @property
    def sovits_format(self) -> str:
        return self.options.sovits_format or self.profile.convert.sovits_weight_format

    @property
    def sovits_enc_onnx_format(self) -> str:
        """The ONNX encoder's weights; ``--sovits-format fp32`` keeps them fp32 too (an all-fp32 pack)."""
        if self.options.sovits_format == "fp32":
            return "fp32"
        return self.profile.convert.sovits_enc_onnx_format

    @property
    def precision_hint(self) -> dict[str, str]:
        """OpenVINO compile config for measuring shipped precisions the way the device will run them."""
        hint = self.profile.settings.runtime.inference_precision
        return {} if hint == "auto" else {"INFERENCE_PRECISION_HINT": hint}


Progress = Callable[[str], None]


def convert(options: ConvertOptions, progress: Progress | None = None) -> tuple[Path, Report]:
    """Run the whole conversion. Raises GsvEdgeError (bad input) or ConversionFailed (export mismatch)."""
    say = progress or (lambda _message: None)
    profile = load_profile(options.profile)
    if options.t2s_format is not None and options.t2s_format not in T2S_FORMATS:
        raise GsvEdgeError(f"unknown --weight-format {options.t2s_format!r}; choose one of {', '.join(T2S_FORMATS)}")
    if options.sovits_format is not None and options.sovits_format not in SOVITS_FORMATS:
        raise GsvEdgeError(
            f"unknown --sovits-format {options.sovits_format!r}; choose one of {', '.join(SOVITS_FORMATS)}"
        )
    output = Path(options.output)
    if output.exists() and not options.force:
        raise GsvEdgeError(f"{output} already exists; pass --force to replace it or choose another -o folder")
    say("reading checkpoints")
    gpt, sovits = load_gpt(options.gpt), load_sovits(options.sovits)
    check_pair(gpt, sovits)
    for folder, what in ((options.hubert, "--hubert"), (options.bert, "--bert")):
        if folder is not None and not Path(folder).is_dir():
            raise GsvEdgeError(f"{what} {folder}: not a folder; pass the Hugging Face model folder")
    sv = _load_sv(options.sv, sovits) if options.sv is not None else None
    if options.g2pw is not None:
        _g2pw_source(options, sovits)  # a bad folder fails before minutes of export

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    ctx = Context(options, profile, gpt, sovits, staging, sv=sv)
    try:
        for name, step in PASSES:
            say(name)
            start = time.perf_counter()
            step(ctx)
            ctx.timings[name] = round(time.perf_counter() - start, 2)
        if not ctx.report.ok:
            failed = [f"{c.graph}/{c.backend}/{c.precision}" for c in ctx.report.checks if not c.passed]
            raise ConversionFailed(
                f"the exported graphs do not match the reference ({', '.join(failed)}); nothing was written. "
                "Please report this with the output of 'gsv-edge inspect' on your files"
            )
        _write_pack_files(ctx)
        if output.exists():
            shutil.rmtree(output)
        os.replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output, ctx.report


# --- t2s ----------------------------------------------------------------------------------------------------


def _check_inputs(gpt: GptCheckpoint, n_symbols: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    bert = np.zeros((1024, CHECK_PHONES), np.float32)
    bert[:, : CHECK_PHONES // 2] = rng.standard_normal((1024, CHECK_PHONES // 2))
    return {
        "phones": rng.integers(0, n_symbols, CHECK_PHONES),
        "bert": bert,
        "prompt": rng.integers(0, 1024, CHECK_PROMPT),
        "tokens": rng.integers(0, 1024, CHECK_STEPS),
    }


# Real sentences for data-aware INT4: their phones come from our own text front end.
CALIBRATION_TEXTS = (
    "今天天气很好，我们一起去公园散步吧。",
    "这个模型可以在树莓派上离线运行，不需要联网。",
    "请在听到提示音之后留言，我们会尽快给您回电话。",
    "二零二四年三月十五日，气温是十八摄氏度。",
    "你知道最近的地铁站怎么走吗？",
    "谢谢你的帮助，祝你周末愉快！",
)


def _calibration_dataset(embeddings, symbols: str):
    """Prefill inputs built from real sentences (phones from the text front end, a random voice prompt)."""
    import nncf

    from gsv_edge.runtime.t2s import prefill_mask
    from gsv_edge.runtime.text import phonemize

    rng = np.random.default_rng(7)
    items = []
    for text in CALIBRATION_TEXTS:
        for segment in phonemize(text, "zh", version=symbols):
            phones = np.asarray(segment.phone_ids)
            prompt = rng.integers(0, 1024, CHECK_PROMPT)
            bert = np.zeros((1024, len(phones)), np.float32)
            rows = np.concatenate([embeddings.phones(phones, bert), embeddings.tokens(prompt)])[None]
            items.append({"x": rows.astype(np.float32), "mask": prefill_mask(len(phones), len(prompt))})
    return nncf.Dataset(items)


@torch.no_grad()
def _reference_logits(gpt: GptCheckpoint, inputs: dict[str, np.ndarray]) -> np.ndarray:
    from gsv_edge.convert.reference import build_gpt

    model = build_gpt(gpt.model_config).eval()
    model.load_state_dict(gpt.state_dict, strict=True)
    t = {k: torch.from_numpy(v) for k, v in inputs.items()}
    logits, cache = model.prefill(t["phones"], t["bert"], t["prompt"])
    rows = [logits.numpy()]
    for i, token in enumerate(inputs["tokens"]):
        logits, cache = model.decode_step(int(token), CHECK_PROMPT + i, cache)
        rows.append(logits.numpy())
    return np.stack(rows)


def _save_openvino(model, staging: Path, stem: str, fp16: bool = False) -> list[str]:
    import openvino as ov

    ov.save_model(model, staging / f"{stem}.xml", compress_to_fp16=fp16)
    return [f"{stem}.xml", f"{stem}.bin"]


def export_t2s(ctx: Context) -> None:
    """The GPT as one stateful OpenVINO graph (fp32 verified, then compressed) plus ONNX for the fallback."""
    import onnxruntime as ort
    import openvino as ov

    from gsv_edge.convert.export.t2s import T2SGraph, embedding_tables, to_onnx, to_openvino
    from gsv_edge.convert.quantize import compress_t2s
    from gsv_edge.runtime.backends.onnxruntime_backend import OnnxT2S
    from gsv_edge.runtime.backends.openvino_backend import OpenVINOT2S
    from gsv_edge.runtime.t2s import T2SEmbeddings, score_tokens

    gpt, fmt = ctx.gpt, ctx.t2s_format
    graph = T2SGraph.from_checkpoint(gpt)
    tables = embedding_tables(gpt)
    np.savez(ctx.staging / "t2s_embeddings.npz", **{k: v.astype(np.float32) for k, v in tables.items()})
    ctx.tables["t2s_embeddings"] = "t2s_embeddings.npz"
    embeddings = T2SEmbeddings(tables)

    n_symbols = int(ctx.sovits.state_dict["enc_p.text_embedding.weight"].shape[0])
    inputs = _check_inputs(gpt, n_symbols)
    reference = _reference_logits(gpt, inputs)
    args = (embeddings, inputs["phones"], inputs["bert"], inputs["prompt"], inputs["tokens"])
    core = ov.Core()

    fp32_model = to_openvino(graph)
    fp32_session = OpenVINOT2S(core.compile_model(fp32_model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}))
    fp32_logits = score_tokens(fp32_session, *args)
    metrics = logit_metrics(fp32_logits, reference)
    ctx.report.add(Check("t2s", "openvino", "fp32", "reference", metrics, metrics["max_abs"] <= T2S_FP32_TOLERANCE))

    dataset = _calibration_dataset(embeddings, ctx.sovits.symbol_version) if fmt == "int4" else None
    shipped = compress_t2s(to_openvino(graph), fmt, dataset) if fmt not in ("fp32", "fp16") else fp32_model
    files = _save_openvino(shipped, ctx.staging, f"t2s.{fmt}", fp16=fmt == "fp16")
    if fmt != "fp32":
        compiled = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)
        ctx.report.add(
            Check(
                "t2s", "openvino", fmt, "fp32", logit_metrics(score_tokens(OpenVINOT2S(compiled), *args), fp32_logits)
            )
        )
    past = [f"past_{kv}_{i}" for i in range(len(graph.layers)) for kv in "kv"]
    ctx.graphs.append(GraphFile("t2s", "openvino", fmt, files, ["x", "mask"], ["logits"], stateful=True))

    if ctx.profile.convert.onnx:
        onnx_path = to_onnx(graph, ctx.staging / "t2s.fp32.onnx")
        io_names = (["x", "mask", *past], ["logits", *graph.cache_names(reserved=True)[1]])
        session = OnnxT2S(ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]))
        metrics = logit_metrics(score_tokens(session, *args), reference)
        ctx.report.add(
            Check("t2s", "onnxruntime", "fp32", "reference", metrics, metrics["max_abs"] <= T2S_FP32_TOLERANCE)
        )
        if fmt in ("int8", "int4"):
            quantized_path = _quantize_onnx(onnx_path, fmt, ctx.staging / f"t2s.{fmt}.onnx")
            session = OnnxT2S(ort.InferenceSession(str(quantized_path), providers=["CPUExecutionProvider"]))
            metrics = logit_metrics(score_tokens(session, *args), fp32_logits)
            ctx.report.add(Check("t2s", "onnxruntime", fmt, "fp32", metrics))
            ctx.graphs.append(GraphFile("t2s", "onnxruntime", fmt, [quantized_path.name], *io_names))
            onnx_path.unlink()  # verified above; the device gets the compressed file (saves ~290 MB at full size)
        else:
            ctx.graphs.append(GraphFile("t2s", "onnxruntime", "fp32", [onnx_path.name], *io_names))


def _quantize_onnx(source: Path, fmt: str, target: Path) -> Path:
    """ONNX Runtime's own weight quantization: dynamic INT8 MatMuls, or 4-bit MatMulNBits (block 64)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # ORT logs a pre-processing hint on every call
    try:
        if fmt == "int8":
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
        else:
            quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), bits=4, block_size=64, is_symmetric=True)
            quantizer.process()
            quantizer.model.save_model_to_file(str(target))
    finally:
        root.level = level
    return target


# --- sovits -------------------------------------------------------------------------------------------------

CHECK_TOKENS = 60


def export_sovits(ctx: Context) -> None:
    """SoVITS as sovits_enc (prior) + sovits_dec (flow + vocoder): fp32 verified, then the profile's format."""
    import nncf
    import onnxruntime as ort
    import openvino as ov

    from gsv_edge.convert.export import sovits as export
    from gsv_edge.convert.quantize import quantize_sovits_decoder
    from gsv_edge.convert.report import SOVITS_FP32_MIN_SNR_DB, snr_db
    from gsv_edge.runtime.backends.onnxruntime_backend import OnnxSoVITSDecoder, OnnxSoVITSEncoder
    from gsv_edge.runtime.backends.openvino_backend import OpenVINOSoVITSDecoder, OpenVINOSoVITSEncoder
    from gsv_edge.runtime.vocoder import decode_whole

    fmt = ctx.sovits_format
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
    f32 = {"INFERENCE_PRECISION_HINT": "f32"}
    fp32_audio = audio_of(
        OpenVINOSoVITSEncoder(core.compile_model(enc_model, "CPU", f32)),
        OpenVINOSoVITSDecoder(core.compile_model(dec_model, "CPU", f32)),
    )
    snr = snr_db(fp32_audio, expected)
    ctx.report.add(Check("sovits", "openvino", "fp32", "reference", {"snr_db": snr}, snr >= SOVITS_FP32_MIN_SNR_DB))

    if fmt == "int8":
        calibration = []
        encoder = OpenVINOSoVITSEncoder(core.compile_model(enc_model, "CPU", f32))
        for _ in range(8):
            m, logs = encoder.run(rng.integers(0, 1024, (1, 30)), rng.integers(0, n_symbols, (1, 20)), ge[None])
            z_p = m + rng.standard_normal(m.shape).astype(np.float32) * np.exp(logs) * 0.5
            frames = np.array([z_p.shape[-1]])  # a whole window: every frame real
            calibration.append({"z_p": z_p[None].astype(np.float32), "ge": ge[None], "frames": frames})
        dec_model = quantize_sovits_decoder(dec_model, nncf.Dataset(calibration), len(calibration))
    enc_files = _save_openvino(enc_model, ctx.staging, f"sovits_enc.{fmt}", fp16=fmt != "fp32")
    dec_files = _save_openvino(dec_model, ctx.staging, f"sovits_dec.{fmt}", fp16=fmt == "fp16")
    ctx.graphs.append(GraphFile("sovits_enc", "openvino", fmt, enc_files, export.ENC_INPUTS, export.ENC_OUTPUTS))
    ctx.graphs.append(GraphFile("sovits_dec", "openvino", fmt, dec_files, export.DEC_INPUTS, export.DEC_OUTPUTS))
    if fmt != "fp32" or ctx.precision_hint.get("INFERENCE_PRECISION_HINT", "") != "f32":
        shipped = audio_of(
            OpenVINOSoVITSEncoder(core.compile_model(ctx.staging / enc_files[0], "CPU", ctx.precision_hint)),
            OpenVINOSoVITSDecoder(core.compile_model(ctx.staging / dec_files[0], "CPU", ctx.precision_hint)),
        )
        precision = f"{fmt} ({ctx.precision_hint.get('INFERENCE_PRECISION_HINT', 'device default')})"
        ctx.report.add(Check("sovits", "openvino", precision, "fp32", {"snr_db": snr_db(shipped, fp32_audio)}))

    if ctx.profile.convert.onnx:
        enc_path = export.encoder_to_onnx(export.SoVITSEncoderGraph(reference), ctx.staging / "sovits_enc.fp32.onnx")
        dec_path = export.decoder_to_onnx(export.SoVITSDecoderGraph(reference), ctx.staging / "sovits_dec.fp32.onnx")
        providers = ["CPUExecutionProvider"]
        onnx_decoder = OnnxSoVITSDecoder(ort.InferenceSession(str(dec_path), providers=providers))
        onnx_audio = audio_of(OnnxSoVITSEncoder(ort.InferenceSession(str(enc_path), providers=providers)), onnx_decoder)
        snr = snr_db(onnx_audio, expected)
        ctx.report.add(
            Check("sovits", "onnxruntime", "fp32", "reference", {"snr_db": snr}, snr >= SOVITS_FP32_MIN_SNR_DB)
        )
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
    from gsv_edge.convert.report import snr_db
    from gsv_edge.runtime.backends.onnxruntime_backend import OnnxSoVITSEncoder

    matmul_path = export.encoder_to_onnx(
        export.SoVITSEncoderGraph(export.with_ffn_matmuls(reference)), ctx.staging / "sovits_enc.matmul.onnx"
    )
    int8_path = quantize_sovits_encoder_onnx(matmul_path, ctx.staging / "sovits_enc.int8.onnx", export.FFN_MATMUL)
    session = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
    snr = snr_db(audio_with(OnnxSoVITSEncoder(session)), fp32_audio)
    ctx.report.add(Check("sovits_enc", "onnxruntime", "int8", "fp32", {"snr_db": snr}))
    matmul_path.unlink()
    fp32_path.unlink()  # verified against the reference above; the device gets the 8-bit file
    return int8_path


# --- voice-side graphs ---------------------------------------------------------------------------------------


def _synthetic_voice(rate: int, seconds: float, seed: int) -> np.ndarray:
    """A voiced-sounding test signal: harmonics of a slowly wobbling f0 plus a little noise, peak 0.5."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 150 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    wave = sum(a * np.sin(h * phase) for h, a in enumerate((1, 0.6, 0.45, 0.3, 0.2), start=1))
    wave = wave + 0.02 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.5 * wave / np.abs(wave).max()).astype(np.float32)


def _load_sv(path: Path, sovits: SovitsCheckpoint) -> SvCheckpoint:
    """Read --sv up front (a bad file fails before minutes of export), refusing it for models that have no use
    for it."""
    from gsv_edge.convert.reference.eres2net import load_sv

    if sovits.version not in ("v2Pro", "v2ProPlus"):
        raise GsvEdgeError(
            f"--sv is only for v2Pro/v2ProPlus models, and {sovits.path.name} is a {sovits.version} model; drop --sv"
        )
    return load_sv(path)


# The sv graph's fp32 output must point where the reference's does (cosine), to within float rounding.
SV_FP32_MIN_COSINE = 0.9999


def export_voice(ctx: Context) -> None:
    """ref_enc (always), hubert (with --hubert), sv (with --sv) and bert (with --bert)."""
    import onnxruntime as ort
    import openvino as ov

    from gsv_edge.convert.export import voice
    from gsv_edge.convert.export.sovits import load_reference
    from gsv_edge.convert.report import cosine
    from gsv_edge.runtime.voice_features import linear_spectrogram, prompt_audio

    core = ov.Core()
    f32 = {"INFERENCE_PRECISION_HINT": "f32"}
    onnx = ctx.profile.convert.onnx
    reference = load_reference(ctx.sovits)

    graph = voice.RefEncoderGraph(reference)
    spec = linear_spectrogram(_synthetic_voice(32000, 4.0, 1))[None]
    feed = {"spec": spec}
    if reference.is_pro:
        feed["sv_emb"] = np.random.default_rng(2).standard_normal((1, 20480)).astype(np.float32)
    with torch.no_grad():
        expected = graph(*[torch.from_numpy(feed[name]) for name in graph.inputs]).numpy()
    model = voice.ref_enc_to_openvino(graph)
    got = core.compile_model(model, "CPU", f32)(feed)["ge"]
    max_abs = float(np.abs(got - expected).max())
    ctx.report.add(Check("ref_enc", "openvino", "fp32", "reference", {"max_abs": max_abs}, max_abs <= 1e-3))
    ctx.graphs.append(GraphFile("ref_enc", "openvino", "fp32", _save_openvino(model, ctx.staging, "ref_enc.fp32"),
                                graph.inputs, ["ge"]))  # fmt: skip
    if onnx:
        path = voice.ref_enc_to_onnx(graph, ctx.staging / "ref_enc.fp32.onnx")
        ctx.graphs.append(GraphFile("ref_enc", "onnxruntime", "fp32", [path.name], graph.inputs, ["ge"]))

    if ctx.options.hubert is not None:
        hubert = voice.HubertCodesGraph(voice.load_hubert(ctx.options.hubert), reference)
        audio = prompt_audio(_synthetic_voice(16000, 3.0, 3))
        with torch.no_grad():
            expected = hubert(torch.from_numpy(audio)).numpy()
        model = voice.hubert_to_openvino(hubert)
        files = _save_openvino(model, ctx.staging, "hubert.fp16", fp16=True)
        fp32_codes = core.compile_model(model, "CPU", f32)({"wav16k": audio})["codes"]
        agreement = float(np.mean(fp32_codes == expected))
        ctx.report.add(
            Check("hubert", "openvino", "fp32", "reference", {"codes_agreement": agreement}, agreement >= 0.98)
        )
        shipped = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)({"wav16k": audio})["codes"]
        ctx.report.add(
            Check("hubert", "openvino", "fp16", "fp32", {"codes_agreement": float(np.mean(shipped == fp32_codes))})
        )
        ctx.graphs.append(GraphFile("hubert", "openvino", "fp16", files, voice.HUBERT_INPUTS, voice.HUBERT_OUTPUTS))
        if onnx:
            path = voice.hubert_to_onnx(hubert, ctx.staging / "hubert.fp32.onnx")
            ctx.graphs.append(
                GraphFile("hubert", "onnxruntime", "fp32", [path.name], voice.HUBERT_INPUTS, voice.HUBERT_OUTPUTS)
            )

    if ctx.sv is not None:
        _export_sv(ctx, core, voice, cosine, ort)

    if ctx.options.bert is not None:
        _export_bert(ctx, core, voice, cosine, ort)


def _export_sv(ctx: Context, core, voice, cosine, ort) -> None:
    """ERes2NetV2 as fbank → sv_emb: exported once to ONNX, the IR read from it; fp32 checked against the torch
    reference, shipped as fp16 IR (+ the fp32 ONNX file when the profile wants ONNX)."""
    from gsv_edge.runtime.fbank import fbank

    graph = voice.SpeakerGraph(ctx.sv.model)
    feed = {"fbank": fbank(_synthetic_voice(16000, 3.0, 6))[None]}
    with torch.no_grad():
        expected = graph(torch.from_numpy(feed["fbank"])).numpy()

    def accuracy(got: np.ndarray) -> dict[str, float]:
        return {"cosine": cosine(got, expected), "max_abs": float(np.abs(got - expected).max())}

    onnx_path = voice.sv_to_onnx(graph, ctx.staging / "sv.fp32.onnx")
    model = voice.sv_to_openvino(onnx_path)
    fp32 = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(feed)["sv_emb"]
    metrics = accuracy(fp32)
    ctx.report.add(Check("sv", "openvino", "fp32", "reference", metrics, metrics["cosine"] >= SV_FP32_MIN_COSINE))
    files = _save_openvino(model, ctx.staging, "sv.fp16", fp16=True)
    shipped = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)(feed)["sv_emb"]
    ctx.report.add(Check("sv", "openvino", "fp16", "fp32", {"cosine": cosine(shipped, fp32)}))
    ctx.graphs.append(GraphFile("sv", "openvino", "fp16", files, voice.SV_INPUTS, voice.SV_OUTPUTS))
    if not ctx.profile.convert.onnx:
        onnx_path.unlink()
        return
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    metrics = accuracy(session.run(["sv_emb"], feed)[0])
    ctx.report.add(Check("sv", "onnxruntime", "fp32", "reference", metrics, metrics["cosine"] >= SV_FP32_MIN_COSINE))
    ctx.graphs.append(GraphFile("sv", "onnxruntime", "fp32", [onnx_path.name], voice.SV_INPUTS, voice.SV_OUTPUTS))


def _export_bert(ctx: Context, core, voice, cosine, ort) -> None:
    from gsv_edge.convert.quantize import quantize_bert
    from gsv_edge.runtime.text import clean_text
    from gsv_edge.runtime.voice_features import BertTokenizer

    folder = Path(ctx.options.bert)
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise GsvEdgeError(f"{folder}: no tokenizer.json; pass the chinese-roberta-wwm-ext-large folder from upstream")
    shutil.copyfile(tokenizer_file, ctx.staging / "bert_tokenizer.json")
    ctx.tables["bert_tokenizer"] = "bert_tokenizer.json"
    tokenizer = BertTokenizer(tokenizer_file)
    samples = [tokenizer(clean_text(text, "zh", "v2").norm_text) for text in CALIBRATION_TEXTS]

    graph = voice.TrimmedBertGraph(voice.load_trimmed_bert(folder))
    with torch.no_grad():
        expected = [graph(*[torch.from_numpy(s[name]) for name in voice.BERT_INPUTS]).numpy() for s in samples]
    model = voice.bert_to_openvino(graph)
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    fp32 = [compiled(s)["hidden"] for s in samples]
    max_abs = max(float(np.abs(a - b).max()) for a, b in zip(fp32, expected, strict=True))
    ctx.report.add(Check("bert", "openvino", "fp32", "reference", {"max_abs": max_abs}, max_abs <= 1e-3))
    fmt = ctx.profile.convert.bert_weight_format
    shipped_model = quantize_bert(voice.bert_to_openvino(graph), samples) if fmt == "int8" else model
    files = _save_openvino(shipped_model, ctx.staging, f"bert.{fmt}", fp16=fmt == "fp16")
    if fmt != "fp32":
        compiled = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)
        score = float(np.mean([cosine(compiled(s)["hidden"], f) for s, f in zip(samples, fp32, strict=True)]))
        ctx.report.add(Check("bert", "openvino", fmt, "fp32", {"cosine": score}))
    ctx.graphs.append(GraphFile("bert", "openvino", fmt, files, voice.BERT_INPUTS, voice.BERT_OUTPUTS))
    if ctx.profile.convert.onnx:
        path = voice.bert_to_onnx(graph, ctx.staging / "bert.fp32.onnx")
        ctx.graphs.append(GraphFile("bert", "onnxruntime", "fp32", [path.name], voice.BERT_INPUTS, voice.BERT_OUTPUTS))


# --- g2pW ---------------------------------------------------------------------------------------------------

G2PW_FOLDER = "g2pw"
# Sentences with polyphones for the INT8-vs-fp32 check (normalised zh text, one sentence each).
G2PW_CHECK_SENTENCES = (
    "银行的行长说，这件事很重要。",
    "他为了这次长跑着急得睡不着觉。",
    "重庆的长城音乐会还差一点就开始了。",
    "我们都觉得这个地方的人很好客。",
)


def _g2pw_source(options: ConvertOptions, sovits: SovitsCheckpoint):
    """The --g2pw folder as a g2pW reader (files checked, nothing loaded yet); its tokenizer is the folder's
    tokenizer.json, else the --bert folder's."""
    from gsv_edge.runtime.text import TextError
    from gsv_edge.runtime.text.zh_g2pw import G2PW, TOKENIZER_FILE

    if sovits.symbol_version == "v1":
        raise GsvEdgeError(f"--g2pw is for v2 models (upstream's v1 never uses g2pW), and {sovits.path.name} is v1; "
                        "drop --g2pw")  # fmt: skip
    folder = Path(options.g2pw)
    tokenizer = None
    if not (folder / TOKENIZER_FILE).is_file():
        if options.bert is None or not (Path(options.bert) / TOKENIZER_FILE).is_file():
            raise GsvEdgeError(
                f"--g2pw {folder}: no {TOKENIZER_FILE} there; pass --bert (chinese-roberta-wwm-ext-large, whose "
                "tokenizer g2pW uses) or copy its tokenizer.json into the folder"
            )
        tokenizer = Path(options.bert) / TOKENIZER_FILE
    try:
        return G2PW(folder, tokenizer, options.g2pw_dicts or None)
    except TextError as err:
        raise GsvEdgeError(str(err)) from None


def export_g2pw(ctx: Context) -> None:
    """With --g2pw: the g2pW folder's files into the pack's g2pw/ folder, the model as an INT8 dynamic-quantized
    copy (BERT-base sized: ~600 MB fp32, a quarter of that INT8), the tokenizer beside it and the polyphonic
    dictionaries merged into one polyphonic.rep; the INT8 readings are checked against fp32's."""
    if ctx.options.g2pw is None:
        return
    from gsv_edge.runtime.text.zh_g2pw import G2PW, REQUIRED_FILES, TOKENIZER_FILE

    source = _g2pw_source(ctx.options, ctx.sovits)
    target = ctx.staging / G2PW_FOLDER
    target.mkdir()
    for name in REQUIRED_FILES:
        shutil.copyfile(source.folder / name, target / name)
    shutil.copyfile(source.tokenizer, target / TOKENIZER_FILE)
    if source.dictionaries:
        # later files win, as upstream reads them: one merged file keeps that order
        merged = "".join(path.read_text(encoding="utf-8").rstrip("\n") + "\n" for path in source.dictionaries)
        (target / "polyphonic.rep").write_text(merged, encoding="utf-8")
    _quantize_onnx(source.model, "int8", target / "g2pW.int8.onnx")
    shipped = G2PW(target)
    from gsv_edge.runtime.text import zh_normalize

    sentences = [zh_normalize.text_normalize(text) for text in G2PW_CHECK_SENTENCES]
    expected, got = source.predictions(sentences), shipped.predictions(sentences)
    agreement = float(np.mean([a == b for a, b in zip(expected, got, strict=True)])) if expected else 1.0
    ctx.report.add(Check("g2pw", "onnxruntime", "int8", "fp32", {"readings_agreement": agreement}))
    ctx.tables["g2pw"] = G2PW_FOLDER


# --- pack files ---------------------------------------------------------------------------------------------


def _converter_version() -> str:
    try:
        return version("gsv-edge")
    except PackageNotFoundError:
        return "unknown"


def _write_pack_files(ctx: Context) -> None:
    gpt, sovits = ctx.gpt, ctx.sovits
    sources = {
        "gpt": {"name": gpt.path.name, "sha256": gpt.sha256},
        "sovits": {"name": sovits.path.name, "sha256": sovits.sha256},
    }
    if ctx.sv is not None:
        sources["sv"] = {"name": ctx.sv.path.name, "sha256": ctx.sv.sha256}
    (ctx.staging / "report.json").write_text(
        json.dumps({**ctx.report.to_dict(), "timings_s": ctx.timings}, indent=2) + "\n", encoding="utf-8"
    )
    (ctx.staging / "MODEL_CARD.md").write_text(_model_card(ctx), encoding="utf-8")
    files = [f for g in ctx.graphs for f in g.files] + list(ctx.tables.values()) + ["report.json", "MODEL_CARD.md"]
    # a table may be a folder (g2pw/): each of its files is hashed
    files = [
        f"{name}/{child.name}" if (ctx.staging / name).is_dir() else name
        for name in files
        for child in (sorted((ctx.staging / name).iterdir()) if (ctx.staging / name).is_dir() else [None])
    ]
    model = gpt.model_config
    manifest = Manifest(
        model_version=sovits.version,
        symbols=sovits.symbol_version,
        sample_rate=int(sovits.config.get("data", {}).get("sampling_rate", 32000)),
        gpt={
            "d_model": int(model["embedding_dim"]),
            "heads": int(model["head"]),
            "n_layer": int(model["n_layer"]),
            "vocab": int(model["vocab_size"]),
            "eos": int(model.get("EOS", 1024)),
            "top_k": gpt.top_k,
        },
        graphs=ctx.graphs,
        tables=ctx.tables,
        sources=sources,
        profile=ctx.profile.name,
        settings=ctx.profile.settings,
        converter={"name": "gsv-edge", "version": _converter_version()},
        sha256={name: file_sha256(ctx.staging / name) for name in files},
    )
    (ctx.staging / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")


def _model_card(ctx: Context) -> str:
    lines = [
        f"# {ctx.options.output.name}",
        "",
        f"GPT-SoVITS {ctx.sovits.version} model converted by gsv-edge for the `{ctx.profile.name}` profile "
        f"({ctx.profile.description}).",
        "",
        f"- GPT: `{ctx.gpt.path.name}` (sha256 {ctx.gpt.sha256[:16]}…)",
        f"- SoVITS: `{ctx.sovits.path.name}` (sha256 {ctx.sovits.sha256[:16]}…)",
        *([f"- Speaker verification: `{ctx.sv.path.name}` (sha256 {ctx.sv.sha256[:16]}…)"] if ctx.sv else []),
        f"- Phone table: {ctx.sovits.symbol_version}; output: 32 kHz mono",
        *(["- Chinese polyphones: g2pW (INT8 copy in g2pw/)"] if "g2pw" in ctx.tables else []),
        "",
        "| graph | backend | precision | files |",
        "|---|---|---|---|",
    ]
    lines += [f"| {g.name} | {g.backend} | {g.precision} | {', '.join(g.files)} |" for g in ctx.graphs]
    lines += ["", "Accuracy: see report.json (exported graphs vs the torch reference, precisions vs fp32).", ""]
    return "\n".join(lines)


PASSES: list[tuple[str, Callable[[Context], None]]] = [
    ("t2s", export_t2s),
    ("sovits", export_sovits),
    ("voice", export_voice),
    ("g2pw", export_g2pw),
]
