"""The bert pass (with ``--bert``): chinese-roberta trimmed to the layers GPT-SoVITS reads, and its tokenizer.

Writes ``bert_tokenizer.json``, ``bert.<fmt>.xml/.bin`` (the profile's BERT format; INT8 is calibrated on real
sentences) and, when the profile wants ONNX, ``bert.fp32.onnx``. Checks: fp32 hidden states on real sentences
against the torch reference (``THRESHOLDS["bert"]``), the shipped precision against fp32 (mean cosine).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gsv_edge.convert.passes.common import CALIBRATION_TEXTS, F32, quantize_onnx, save_openvino
from gsv_edge.convert.report import THRESHOLDS, cosine
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import GraphFile

if TYPE_CHECKING:
    from gsv_edge.convert.convert import Context


def wanted(ctx: Context) -> bool:
    return ctx.options.bert is not None


def run(ctx: Context) -> None:
    """Copy the tokenizer, export, verify fp32 against the reference, save the profile's format, measure it."""
    import openvino as ov

    from gsv_edge.convert.export import voice as export
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

    core, report = ov.Core(), ctx.report
    graph = export.TrimmedBertGraph(export.load_trimmed_bert(folder))
    with torch.no_grad():
        expected = [graph(*[torch.from_numpy(s[name]) for name in export.BERT_INPUTS]).numpy() for s in samples]
    model = export.bert_to_openvino(graph)
    compiled = core.compile_model(model, "CPU", F32)
    fp32 = [compiled(s)["hidden"] for s in samples]
    max_abs = max(float(np.abs(a - b).max()) for a, b in zip(fp32, expected, strict=True))
    report.verify(("bert", "openvino", "fp32", "reference"), {"max_abs": max_abs}, THRESHOLDS["bert"])
    fmt = ctx.profile.convert.bert_weight_format
    shipped_model = quantize_bert(export.bert_to_openvino(graph), samples) if fmt == "int8" else model
    files = save_openvino(shipped_model, ctx.staging, f"bert.{fmt}", fp16=fmt == "fp16")
    if fmt != "fp32":
        compiled = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)
        score = float(np.mean([cosine(compiled(s)["hidden"], f) for s, f in zip(samples, fp32, strict=True)]))
        report.verify(("bert", "openvino", fmt, "fp32"), {"cosine": score})
    ctx.graphs.append(GraphFile("bert", "openvino", fmt, files, export.BERT_INPUTS, export.BERT_OUTPUTS))
    if ctx.profile.convert.onnx:
        path = export.bert_to_onnx(graph, ctx.staging / "bert.fp32.onnx")
        onnx_fmt = "int8" if fmt == "int8" else "fp32"
        if onnx_fmt == "int8":
            path = _int8_onnx(ctx, path, samples, fp32)
        ctx.graphs.append(
            GraphFile("bert", "onnxruntime", onnx_fmt, [path.name], export.BERT_INPUTS, export.BERT_OUTPUTS)
        )


def _int8_onnx(ctx: Context, fp32_path: Path, samples: list[dict], fp32: list[np.ndarray]) -> Path:
    """ONNX Runtime's dynamic INT8 copy of the BERT (8-bit MatMul weights, activations quantized per call), its
    hidden states measured against the fp32 graph's; replaces the fp32 file in the pack."""
    import onnxruntime as ort

    int8_path = quantize_onnx(fp32_path, "int8", ctx.staging / "bert.int8.onnx")
    session = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}  # the exporter drops inputs the graph does not read
    hidden = [session.run(["hidden"], {k: v for k, v in s.items() if k in names})[0] for s in samples]
    score = float(np.mean([cosine(h, f) for h, f in zip(hidden, fp32, strict=True)]))
    ctx.report.verify(("bert", "onnxruntime", "int8", "fp32"), {"cosine": score})
    fp32_path.unlink()  # the fp32 IR was verified against the reference above; the device gets the 8-bit file
    return int8_path
