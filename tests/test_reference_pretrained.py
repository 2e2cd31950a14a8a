"""HuBERT and BERT from their Hugging Face folders reproduce upstream's recorded features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gsv_edge.convert.reference.pretrained import BertFeatures, HubertFeatures
from gsv_edge.runtime.errors import GsvEdgeError
from tests.conftest import load_cases, require_conformance


@pytest.fixture(scope="module")
def hf():
    folder = require_conformance("hf")
    return folder, load_cases(folder), json.loads((folder / "cases.json").read_text(encoding="utf-8"))


def test_hubert_features_match_upstream(hf):
    folder, cases, _ = hf
    features = HubertFeatures(folder / "chinese-hubert-base-tiny")(cases["wav16k"])
    expected = cases["hubert_last_hidden"]
    assert features.shape == expected.shape == (768, 204)
    np.testing.assert_allclose(features, expected, rtol=0, atol=1e-4)


def test_hubert_prompt_padding_is_part_of_the_input(hf):
    folder, cases, _ = hf
    hubert = HubertFeatures(folder / "chinese-hubert-base-tiny")
    unpadded = hubert(cases["wav16k"], pad_prompt=False)
    # 0.6 s fewer samples at 50 Hz is 30 fewer frames
    assert unpadded.shape[1] == 204 - 30


def test_bert_features_match_upstream(hf):
    folder, cases, meta = hf
    bert = BertFeatures(folder / "chinese-roberta-tiny")
    inputs = bert.tokenizer(meta["bert_norm_text"])
    assert inputs["input_ids"] == cases["bert_input_ids"].tolist()
    np.testing.assert_allclose(
        bert.hidden(meta["bert_norm_text"]), cases["bert_hidden_m3_with_cls_sep"], rtol=0, atol=1e-4
    )
    features = bert(meta["bert_norm_text"], cases["bert_word2ph"].tolist())
    assert features.shape == (1024, 23)
    np.testing.assert_allclose(features, cases["bert_features"], rtol=0, atol=1e-4)


def test_bert_refuses_a_word2ph_that_does_not_fit(hf):
    folder, _, meta = hf
    bert = BertFeatures(folder / "chinese-roberta-tiny")
    with pytest.raises(GsvEdgeError, match="one token per character"):
        bert(meta["bert_norm_text"], [2, 2])


def test_missing_folder_names_the_problem(tmp_path):
    with pytest.raises(GsvEdgeError, match="not a Hugging Face HuBERT folder"):
        HubertFeatures(tmp_path / "nowhere")
