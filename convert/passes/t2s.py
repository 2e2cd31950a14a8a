"""The t2s pass: the GPT as one stateful OpenVINO graph plus ONNX for the fallback.

Writes ``t2s_embeddings.npz`` (the host-side embedding tables), ``t2s.<fmt>.xml/.bin`` and, when the profile
wants ONNX, ``t2s.<fmt>.onnx`` (fp32, or ONNX Runtime's own 8-bit / 4-bit copy of it, quantized so that each
row of a batch computes what it would alone). Checks: both fp32 graphs
against the torch reference (teacher-forced logits, ``THRESHOLDS["t2s"]``), each compressed graph against fp32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from gsv_edge.convert.gate import choose, t2s_gate
from gsv_edge.convert.passes.common import (
    CALIBRATION_TEXTS,
    CHECK_PHONES,
    CHECK_PROMPT,
    CHECK_STEPS,
    F32,
    quantize_onnx,
    save_openvino,
)
from gsv_edge.convert.report import THRESHOLDS, logit_metrics
from gsv_edge.runtime.pack import GraphFile
from gsv_edge.runtime.voice_features import BERT_DIM

if TYPE_CHECKING:
    from gsv_edge.convert.checkpoint import GptCheckpoint
    from gsv_edge.convert.convert import Context


def run(ctx: Context) -> None:
    """Export, verify fp32 against the reference, then per backend build the profile's formats in order of
    preference and keep the first that passes the quality gate against fp32 (``gsv_edge.convert.gate``)."""
    import onnxruntime as ort
    import openvino as ov

    from gsv_edge.convert.export.t2s import T2SGraph, embedding_tables, to_onnx, to_openvino
    from gsv_edge.convert.quantize import compress_t2s
    from gsv_edge.runtime.backends.onnxruntime_backend import OnnxT2S
    from gsv_edge.runtime.backends.openvino_backend import OpenVINOT2S
    from gsv_edge.runtime.t2s import T2SEmbeddings, score_tokens

    gpt, report = ctx.gpt, ctx.report
    graph = T2SGraph.from_checkpoint(gpt)
    tables = embedding_tables(gpt)
    np.savez(ctx.staging / "t2s_embeddings.npz", **{k: v.astype(np.float32) for k, v in tables.items()})
    ctx.tables["t2s_embeddings"] = "t2s_embeddings.npz"
    embeddings = T2SEmbeddings(tables)

    n_symbols = int(ctx.sovits.state_dict["enc_p.text_embedding.weight"].shape[0])
    inputs = _check_inputs(n_symbols)
    reference = _reference_logits(gpt, inputs)
    args = (embeddings, inputs["phones"], inputs["bert"], inputs["prompt"], inputs["tokens"])
    core = ov.Core()

    fp32_model = to_openvino(graph)
    fp32_logits = score_tokens(OpenVINOT2S(core.compile_model(fp32_model, "CPU", F32)), *args)
    report.verify(("t2s", "openvino", "fp32", "reference"), logit_metrics(fp32_logits, reference), THRESHOLDS["t2s"])

    formats, gate = ctx.t2s_formats, t2s_gate(ctx.profile.convert)
    dataset = _calibration_dataset(embeddings, ctx.sovits.symbol_version) if "int4" in formats else None

    def build_openvino(fmt: str) -> tuple[list[str], dict[str, float]]:
        """One candidate IR: compressed, saved, measured the way the device runs it (the precision hint)."""
        shipped = compress_t2s(to_openvino(graph), fmt, dataset) if fmt not in ("fp32", "fp16") else fp32_model
        files = save_openvino(shipped, ctx.staging, f"t2s.{fmt}", fp16=fmt == "fp16")
        compiled = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)
        metrics = logit_metrics(score_tokens(OpenVINOT2S(compiled), *args), fp32_logits)
        if fmt != "fp32":
            report.verify(("t2s", "openvino", fmt, "fp32"), metrics)
        return files, metrics

    fmt, files = choose(("t2s", "openvino"), formats, gate, build_openvino, _remove(ctx), report, ctx.t2s_forced)
    past = [f"past_{kv}_{i}" for i in range(len(graph.layers)) for kv in "kv"]
    ctx.graphs.append(GraphFile("t2s", "openvino", fmt, files, ["x", "mask"], ["logits"], stateful=True))

    if not ctx.profile.convert.onnx:
        return
    onnx_path = to_onnx(graph, ctx.staging / "t2s.fp32.onnx")
    io_names = (["x", "mask", *past], ["logits", *graph.cache_names(reserved=True)[1]])
    session = OnnxT2S(ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]))
    metrics = logit_metrics(score_tokens(session, *args), reference)
    report.verify(("t2s", "onnxruntime", "fp32", "reference"), metrics, THRESHOLDS["t2s"])

    def build_onnx(fmt: str) -> tuple[list[str], dict[str, float]]:
        """ONNX Runtime's own INT8 / 4-bit copy of the fp32 file, measured; fp16 and fp32 ship the fp32 file."""
        if fmt not in ("int8", "int4"):
            return [onnx_path.name], logit_metrics(score_tokens(session, *args), fp32_logits)
        quantized_path = quantize_onnx(onnx_path, fmt, ctx.staging / f"t2s.{fmt}.onnx", row_independent=True)
        quantized = OnnxT2S(ort.InferenceSession(str(quantized_path), providers=["CPUExecutionProvider"]))
        metrics = logit_metrics(score_tokens(quantized, *args), fp32_logits)
        report.verify(("t2s", "onnxruntime", fmt, "fp32"), metrics)
        return [quantized_path.name], metrics

    keep_fp32 = _remove(ctx, spare=onnx_path.name)
    fmt, files = choose(("t2s", "onnxruntime"), formats, gate, build_onnx, keep_fp32, report, ctx.t2s_forced)
    precision = fmt if fmt in ("int8", "int4") else "fp32"
    ctx.graphs.append(GraphFile("t2s", "onnxruntime", precision, files, *io_names))
    if files != [onnx_path.name]:
        onnx_path.unlink()  # verified above; the device gets the compressed file


def _remove(ctx: Context, spare: str | None = None):
    """A ``discard`` for ``choose``: deletes a rejected candidate's files from the staging folder (not ``spare``,
    the fp32 ONNX file the next candidates are made from)."""

    def discard(files: list[str]) -> None:
        for name in files:
            if name != spare:
                (ctx.staging / name).unlink()

    return discard


def _check_inputs(n_symbols: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    bert = np.zeros((BERT_DIM, CHECK_PHONES), np.float32)
    bert[:, : CHECK_PHONES // 2] = rng.standard_normal((BERT_DIM, CHECK_PHONES // 2))
    return {
        "phones": rng.integers(0, n_symbols, CHECK_PHONES),
        "bert": bert,
        "prompt": rng.integers(0, 1024, CHECK_PROMPT),
        "tokens": rng.integers(0, 1024, CHECK_STEPS),
    }


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
            bert = np.zeros((BERT_DIM, len(phones)), np.float32)
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
