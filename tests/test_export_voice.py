"""Voice-side graphs (hubert → prompt codes, ref_enc → ge, trimmed BERT) and their numpy host code."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest

from gsv_edge.convert.checkpoint import load_sovits
from gsv_edge.convert.export import voice
from gsv_edge.convert.export.sovits import load_reference
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.voice_features import BertTokenizer, linear_spectrogram, phone_level_bert, prompt_audio
from tests.conftest import load_cases, require_conformance

F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def _run(graph_model_pair, backend, feed, tmp_path, onnx_export):
    graph, model = graph_model_pair
    if backend == "openvino":
        compiled = ov.Core().compile_model(model, "CPU", F32)
        return {name: compiled(feed)[name] for name in compiled.outputs[0].get_names()}
    path = onnx_export(graph, tmp_path / "g.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed), strict=True))


@pytest.fixture(scope="module")
def hf():
    folder = require_conformance("hf")
    return folder, load_cases(folder), json.loads((folder / "cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_ref_enc_and_hubert_graphs(variant_dir, hf, backend, tmp_path):
    folder, hf_cases, _ = hf
    cases = load_cases(variant_dir)
    reference = load_reference(load_sovits(variant_dir / "sovits.pth"))

    graph = voice.RefEncoderGraph(reference)
    feed = {"spec": linear_spectrogram(cases["ref_wav32k"])[None]}
    if reference.is_pro:
        feed["sv_emb"] = cases["sv_emb"][None]
    out = _run((graph, voice.ref_enc_to_openvino(graph)), backend, feed, tmp_path, voice.ref_enc_to_onnx)
    np.testing.assert_allclose(out["ge"][0], cases["ge"], rtol=0, atol=1e-4)

    hubert = voice.HubertCodesGraph(voice.load_hubert(folder / "chinese-hubert-base-tiny"), reference)
    feed = {"wav16k": prompt_audio(hf_cases["wav16k"])}
    out = _run((hubert, voice.hubert_to_openvino(hubert)), backend, feed, tmp_path, voice.hubert_to_onnx)
    assert out["codes"][0].tolist() == cases["hubert_prompt_codes"].tolist()


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_trimmed_bert_graph_and_host_expansion(hf, backend, tmp_path):
    folder, cases, meta = hf
    bert = voice.TrimmedBertGraph(voice.load_trimmed_bert(folder / "chinese-roberta-tiny"))
    assert len(bert.bert.encoder.layer) == 1  # 3 layers, hidden_states[-3] is the first layer's output
    tokenizer = BertTokenizer(folder / "chinese-roberta-tiny" / "tokenizer.json")
    feed = tokenizer(meta["bert_norm_text"])
    assert feed["input_ids"][0].tolist() == cases["bert_input_ids"].tolist()
    assert feed["token_type_ids"][0].tolist() == cases["bert_token_type_ids"].tolist()
    out = _run((bert, voice.bert_to_openvino(bert)), backend, feed, tmp_path, voice.bert_to_onnx)
    np.testing.assert_allclose(out["hidden"][0], cases["bert_hidden_m3_with_cls_sep"], rtol=0, atol=1e-4)
    features = phone_level_bert(out["hidden"][0], cases["bert_word2ph"].tolist())
    np.testing.assert_allclose(features, cases["bert_features"], rtol=0, atol=1e-4)


def test_numpy_spectrogram_matches_upstream(variant_dir):
    cases = load_cases(variant_dir)
    np.testing.assert_allclose(linear_spectrogram(cases["ref_wav32k"]), cases["spec"], rtol=0, atol=1e-4)


def test_host_refusals(tmp_path):
    with pytest.raises(GsvEdgeError, match="too short"):
        linear_spectrogram(np.zeros(100, np.float32))
    with pytest.raises(GsvEdgeError, match="BERT folder") as missing:
        BertTokenizer(tmp_path / "tokenizer.json")
    assert missing.value.option == "bert"  # the command line names its --bert
    with pytest.raises(GsvEdgeError, match="one token per character"):
        phone_level_bert(np.zeros((5, 1024), np.float32), [2, 2])
