"""The sv pass (with ``--sv``, v2Pro/v2ProPlus): ERes2NetV2 as fbank → sv_emb, the 20480-d speaker embedding
that v2Pro's ref_enc reads.

Exported once to ONNX and the IR read from it. Writes ``sv.fp16.xml/.bin`` and, when the profile wants ONNX,
``sv.fp32.onnx``. Checks: both fp32 graphs against the torch reference (cosine, ``THRESHOLDS["sv"]``; max abs
reported), the shipped fp16 IR against fp32.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gsv_edge.convert.passes.common import F32, save_openvino, synthetic_voice
from gsv_edge.convert.report import THRESHOLDS, cosine
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import GraphFile

if TYPE_CHECKING:
    from gsv_edge.convert.checkpoint import SovitsCheckpoint
    from gsv_edge.convert.convert import Context
    from gsv_edge.convert.reference.eres2net import SvCheckpoint


def wanted(ctx: Context) -> bool:
    return ctx.sv is not None


def run(ctx: Context) -> None:
    """Export, verify fp32 against the reference, save fp16 IR (+ the fp32 ONNX file)."""
    import onnxruntime as ort
    import openvino as ov

    from gsv_edge.convert.export import voice as export
    from gsv_edge.runtime.fbank import fbank

    core, report = ov.Core(), ctx.report
    graph = export.SpeakerGraph(ctx.sv.model)
    feed = {"fbank": fbank(synthetic_voice(16000, 3.0, 6))[None]}
    with torch.no_grad():
        expected = graph(torch.from_numpy(feed["fbank"])).numpy()

    def accuracy(got: np.ndarray) -> dict[str, float]:
        return {"cosine": cosine(got, expected), "max_abs": float(np.abs(got - expected).max())}

    onnx_path = export.sv_to_onnx(graph, ctx.staging / "sv.fp32.onnx")
    model = export.sv_to_openvino(onnx_path)
    fp32 = core.compile_model(model, "CPU", F32)(feed)["sv_emb"]
    report.verify(("sv", "openvino", "fp32", "reference"), accuracy(fp32), THRESHOLDS["sv"])
    files = save_openvino(model, ctx.staging, "sv.fp16", fp16=True)
    shipped = core.compile_model(ctx.staging / files[0], "CPU", ctx.precision_hint)(feed)["sv_emb"]
    report.verify(("sv", "openvino", "fp16", "fp32"), {"cosine": cosine(shipped, fp32)})
    ctx.graphs.append(GraphFile("sv", "openvino", "fp16", files, export.SV_INPUTS, export.SV_OUTPUTS))
    if not ctx.profile.convert.onnx:
        onnx_path.unlink()
        return
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    report.verify(
        ("sv", "onnxruntime", "fp32", "reference"), accuracy(session.run(["sv_emb"], feed)[0]), THRESHOLDS["sv"]
    )
    ctx.graphs.append(GraphFile("sv", "onnxruntime", "fp32", [onnx_path.name], export.SV_INPUTS, export.SV_OUTPUTS))


def load(path: Path, sovits: SovitsCheckpoint) -> SvCheckpoint:
    """Read --sv up front (a bad file fails before minutes of export), refusing it for models that have no use
    for it."""
    from gsv_edge.convert.reference.eres2net import load_sv

    if sovits.version not in ("v2Pro", "v2ProPlus"):
        raise GsvEdgeError(
            f"--sv is only for v2Pro/v2ProPlus models, and {sovits.path.name} is a {sovits.version} model; drop --sv"
        )
    return load_sv(path)
