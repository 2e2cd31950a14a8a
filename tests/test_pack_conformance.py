"""An fp32 pack of each conformance variant, run through plain OpenVINO and ONNX Runtime, reproduces upstream."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest

from gsv_edge.convert.convert import ConvertOptions, convert
from gsv_edge.convert.report import snr_db
from gsv_edge.runtime.backends.onnxruntime_backend import OnnxSoVITSDecoder, OnnxSoVITSEncoder, OnnxT2S
from gsv_edge.runtime.backends.openvino_backend import OpenVINOSoVITSDecoder, OpenVINOSoVITSEncoder, OpenVINOT2S
from gsv_edge.runtime.pack import read_manifest
from gsv_edge.runtime.sampling import SamplingOptions
from gsv_edge.runtime.t2s import T2SEmbeddings, generate
from gsv_edge.runtime.vocoder import decode_whole, frames_for
from tests.conftest import SOVITS_VARIANTS, load_cases, require_conformance

GREEDY = SamplingOptions(top_k=1, top_p=1.0, temperature=1.0, repetition_penalty=1.35, max_steps=61)
SESSIONS = {
    "openvino": (OpenVINOT2S, OpenVINOSoVITSEncoder, OpenVINOSoVITSDecoder),
    "onnxruntime": (OnnxT2S, OnnxSoVITSEncoder, OnnxSoVITSDecoder),
}


@pytest.fixture(scope="module", params=SOVITS_VARIANTS)
def fp32_pack(request, tmp_path_factory):
    folder = require_conformance(request.param)
    out = tmp_path_factory.mktemp(request.param) / "pack"
    convert(ConvertOptions(folder / "gpt.ckpt", folder / "sovits.pth", out, t2s_format="fp32", sovits_format="fp32"))
    return out, load_cases(folder)


def _load(pack, manifest, name, backend):
    graph = manifest.graph(name, backend, ("fp32",))
    assert graph is not None and graph.precision == "fp32", f"{name}/{backend} missing from the pack"
    path = str(pack / graph.files[0])
    if backend == "openvino":
        return ov.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_fp32_pack_reproduces_upstream(fp32_pack, backend):
    pack, cases = fp32_pack
    manifest = read_manifest(pack)
    t2s_cls, enc_cls, dec_cls = SESSIONS[backend]
    with np.load(pack / manifest.tables["t2s_embeddings"]) as tables:
        embeddings = T2SEmbeddings(dict(tables))
    t2s = t2s_cls(_load(pack, manifest, "t2s", backend))
    result = generate(t2s, embeddings, cases["gpt_phones"], cases["gpt_bert"], cases["gpt_prompt"], GREEDY)
    assert result.tokens == cases["gpt_infer_y"][len(cases["gpt_prompt"]) :].tolist()

    encoder = enc_cls(_load(pack, manifest, "sovits_enc", backend))
    decoder = dec_cls(_load(pack, manifest, "sovits_dec", backend))
    args = (encoder, decoder, cases["codes"], cases["tgt_phones"], cases["ge"])  # upstream's own ge
    n = len(cases["codes"])
    outputs = {
        "audio_noise0": decode_whole(*args, noise=np.zeros((192, frames_for(n)), np.float32)),
        "audio_speed125": decode_whole(*args, speed=1.25, noise=np.zeros((192, frames_for(n, 1.25)), np.float32)),
        "audio_noise05": decode_whole(*args, noise_scale=0.5, noise=cases["noise05_randn"]),
    }
    for name, audio in outputs.items():
        assert snr_db(audio, cases[name]) >= 60, name
