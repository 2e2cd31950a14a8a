"""The voice pass: the graphs that enroll a voice on the device.

Writes ``ref_enc.fp32.xml/.bin`` (reference spectrogram, plus the speaker-verification embedding for v2Pro, →
the voice's speaker vector) and, with ``--hubert``, ``hubert.fp16.xml/.bin`` (reference clip → prompt codes);
when the profile wants ONNX, ``ref_enc.fp32.onnx`` and ``hubert.fp32.onnx`` too. Checks: ref_enc fp32 against
the torch reference (``THRESHOLDS["ref_enc"]``), HuBERT's fp32 codes against the reference's
(``THRESHOLDS["hubert"]``) and the shipped fp16 codes against fp32's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from gsv_edge.convert.passes.common import F32, save_openvino, synthetic_voice
from gsv_edge.convert.report import THRESHOLDS
from gsv_edge.runtime.pack import GraphFile

if TYPE_CHECKING:
    from gsv_edge.convert.convert import Context


def run(ctx: Context) -> None:
    """ref_enc always, hubert with --hubert: export, verify fp32 against the reference, save."""
    import openvino as ov

    from gsv_edge.convert.export import voice as export
    from gsv_edge.convert.export.sovits import load_reference
    from gsv_edge.runtime.voice_features import linear_spectrogram, prompt_audio

    core, report = ov.Core(), ctx.report
    onnx = ctx.profile.convert.onnx
    reference = load_reference(ctx.sovits)

    graph = export.RefEncoderGraph(reference)
    spec = linear_spectrogram(synthetic_voice(32000, 4.0, 1))[None]
    feed = {"spec": spec}
    if reference.is_pro:
        feed["sv_emb"] = np.random.default_rng(2).standard_normal((1, 20480)).astype(np.float32)
    with torch.no_grad():
        expected = graph(*[torch.from_numpy(feed[name]) for name in graph.inputs]).numpy()
    model = export.ref_enc_to_openvino(graph)
    got = core.compile_model(model, "CPU", F32)(feed)["ge"]
    metrics = {"max_abs": float(np.abs(got - expected).max())}
    report.verify(("ref_enc", "openvino", "fp32", "reference"), metrics, THRESHOLDS["ref_enc"])
    files = save_openvino(model, ctx.staging, "ref_enc.fp32")
    ctx.graphs.append(GraphFile("ref_enc", "openvino", "fp32", files, graph.inputs, ["ge"]))
    if onnx:
        path = export.ref_enc_to_onnx(graph, ctx.staging / "ref_enc.fp32.onnx")
        ctx.graphs.append(GraphFile("ref_enc", "onnxruntime", "fp32", [path.name], graph.inputs, ["ge"]))

    if ctx.options.hubert is None:
        return
    hubert = export.HubertCodesGraph(export.load_hubert(ctx.options.hubert), reference)
    audio = prompt_audio(synthetic_voice(16000, 3.0, 3))
    with torch.no_grad():
        expected = hubert(torch.from_numpy(audio)).numpy()
    model = export.hubert_to_openvino(hubert)
    files = save_openvino(model, ctx.staging, "hubert.fp16", fp16=True)
    fp32_codes = core.compile_model(model, "CPU", F32)({"wav16k": audio})["codes"]
    metrics = {"codes_agreement": float(np.mean(fp32_codes == expected))}
    report.verify(("hubert", "openvino", "fp32", "reference"), metrics, THRESHOLDS["hubert"])
    shipped = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)({"wav16k": audio})["codes"]
    report.verify(("hubert", "openvino", "fp16", "fp32"), {"codes_agreement": float(np.mean(shipped == fp32_codes))})
    ctx.graphs.append(GraphFile("hubert", "openvino", "fp16", files, export.HUBERT_INPUTS, export.HUBERT_OUTPUTS))
    if onnx:
        path = export.hubert_to_onnx(hubert, ctx.staging / "hubert.fp32.onnx")
        ctx.graphs.append(
            GraphFile("hubert", "onnxruntime", "fp32", [path.name], export.HUBERT_INPUTS, export.HUBERT_OUTPUTS)
        )
