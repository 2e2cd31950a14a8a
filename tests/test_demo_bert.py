"""`gsv-edge demo-model --bert`: a random chinese-roberta folder that `convert --bert` takes, whose features reach
the GPT when the pack speaks Chinese.

The tiny size (3 layers, hidden 1024, the full 21128-entry vocabulary) keeps the test short; the full size is
what `make bench` converts (demo/pack-laptop-bert).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gsv_edge.convert.convert import ConvertOptions, convert
from gsv_edge.convert.demo_bert import FOLDER_NAME, VOCAB_SIZE
from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
from gsv_edge.runtime.voice_features import BERT_DIM, BertTokenizer
from gsv_edge.runtime.voices import Voice
from tests.test_cli import gsv

TEXT = "今天的天气非常好，我们一起去公园散步吧。"
NO_ONNX = 'name = "no-onnx"\n[convert]\nonnx = false\n'  # only the OpenVINO graphs: a shorter conversion


@pytest.fixture(scope="module")
def bert_pack(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo-bert")
    made = gsv("demo-model", "--size", "tiny", "--bert", "-o", work / "model")
    assert made.returncode == 0, made.stderr
    (work / "no-onnx.toml").write_text(NO_ONNX)
    model = work / "model"
    pack, _ = convert(ConvertOptions(model / "gpt.ckpt", model / "sovits.pth", work / "pack",
                                     profile=str(work / "no-onnx.toml"), bert=model / FOLDER_NAME))  # fmt: skip
    return model, pack


def test_demo_bert_folder_has_the_official_layout(bert_pack):
    model, _ = bert_pack
    folder = model / FOLDER_NAME
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
        "vocab.txt",
    ]  # fmt: skip
    config = json.loads((folder / "config.json").read_text())
    assert (config["vocab_size"], config["hidden_size"], config["architectures"]) == (21128, 1024, ["BertForMaskedLM"])
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == VOCAB_SIZE and vocab[0] == "[PAD]" and vocab[100:104] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    ids = BertTokenizer(folder / "tokenizer.json")("今天,天气好!")["input_ids"][0]
    assert ids[0] == 101 and ids[-1] == 102 and len(ids) == 9 and 100 not in ids  # one known token per character


def test_pack_speaks_chinese_with_bert_features_reaching_the_gpt(bert_pack, monkeypatch):
    _, pack = bert_pack
    synth = Synthesizer.load(pack)
    assert synth.engine.has_graph("bert")
    segment, features = synth.front_end.features(TEXT, "zh")[0]
    assert features.shape == (BERT_DIM, len(segment.phone_ids)) and np.abs(features).mean() > 0.01
    rng = np.random.default_rng(0)
    voice = Voice("t", "zh", "", rng.integers(0, 1024, 50), np.asarray(segment.phone_ids[:10]),
                  features[:, :10].copy(), (0.3 * rng.standard_normal(synth.engine.decoder_gin())).astype(np.float32),
                  synth.manifest.fingerprint)  # fmt: skip
    options = SpeechOptions(seed=3, fixed_length=lambda s: 40)
    with synth.open_stream(TEXT, voice, "zh", options) as speech:
        audio = speech.whole()
        with_bert = [list(t) for t in speech.tokens]
    assert audio.seconds > 1 and np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0
    # the same stream with the target's BERT features zeroed, as a pack without BERT would give them
    monkeypatch.setattr(synth.front_end, "bert", lambda seg: np.zeros((BERT_DIM, len(seg.phone_ids)), np.float32))
    with synth.open_stream(TEXT, voice, "zh", options) as speech:
        speech.whole()
        without_bert = [list(t) for t in speech.tokens]
    assert [len(t) for t in with_bert] == [len(t) for t in without_bert]
    assert with_bert != without_bert  # the features change what the GPT samples
