"""The English tagger's hashed feature index and the lexicon's phone numbers, on small forged models and tables.

(The full model is tested tag for tag against nltk in test_text_en.py.)
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsv_edge.runtime.text import en_tagger
from gsv_edge.runtime.text.en_lexicon import Pronunciations
from gsv_edge.runtime.text.en_tagger import END, START, PerceptronTagger, features, normalize

WORDS = st.text(alphabet=st.sampled_from("aB-1 .'\u00e9\U0001f44d"), max_size=6)


def _model(tmp_path, weights: dict | str, classes=("A", "B"), tagdict=None) -> PerceptronTagger:
    files = {}
    for name, data in (("weights", weights), ("tagdict", tagdict or {}), ("classes", list(classes))):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return PerceptronTagger(files["weights"], files["tagdict"], files["classes"])


def test_unknown_features_score_zero(tmp_path):
    tagger = _model(tmp_path, {"bias": {"A": 0.5, "B": 0.25}, "i word dog": {"B": 1.0}, "i+1 word cat": {"A": -2.0}})
    assert tagger.tag(["dog"]) == [("dog", "B")]
    assert tagger.tag(["cat"]) == [("cat", "A")]  # nothing but bias is known
    assert tagger.tag(["dog", "cat"]) == [("dog", "B"), ("cat", "A")]
    assert tagger._find("i word cat") == -1 and tagger._find("i word dog") >= 0
    assert tagger.weights_of("i word cat") is None
    assert tagger.weights_of("bias") == {"A": 0.5, "B": 0.25} and tagger.weights_of("i word dog") == {"B": 1.0}
    # no weights at all: every class scores 0.0 and the greater tag wins, as in nltk
    assert _model(tmp_path, {"i word dog": {"A": 1.0}}).tag(["cat", "dog"]) == [("cat", "B"), ("dog", "A")]


def test_a_repeated_feature_is_refused(tmp_path):
    weights = '{"bias": {"A": 1.0}, "i word dog": {"B": 1.0}, "bias": {"B": 2.0}}'
    with pytest.raises(ValueError, match="same 64-bit hash"):
        _model(tmp_path, weights)


def test_a_hash_collision_among_the_models_features_is_refused(tmp_path, monkeypatch):
    weights = {"bias": {"A": 1.0}, "i word dog": {"B": 1.0}, "i word cat": {"A": 1.0}}
    assert len(_model(tmp_path, weights)._keys) == 3
    real = en_tagger._digest
    monkeypatch.setattr(en_tagger, "_digest", lambda data: real(data.replace(b"cat", b"dog")))
    with pytest.raises(ValueError, match="same 64-bit hash"):
        _model(tmp_path, weights)


def test_feature_keys_are_stable_blake2b():
    # the key must not depend on the process (as hash() does): the 64-bit BLAKE2b of the UTF-8 bytes
    assert en_tagger._key("i word \u00e9") == hashlib.blake2b("i word \u00e9".encode(), digest_size=8).digest()
    assert en_tagger._key("\ud800") != en_tagger._key("\ufffd")  # lone surrogates are hashed too, distinctly


@given(st.lists(WORDS, min_size=1, max_size=6), st.sampled_from([*START, "NN", "DT"]), st.sampled_from(START))
@settings(max_examples=200, deadline=None)
def test_features_are_nltks_in_nltks_order_and_distinct(tokens, prev, prev2):
    nltk_perceptron = pytest.importorskip("nltk.tag.perceptron", reason="nltk (the test oracle) is not installed")
    nltk_tagger = nltk_perceptron.PerceptronTagger(load=False)
    tokens = [w for w in tokens if w]  # (the tokenizer never makes an empty token)
    context = [*START, *(normalize(w) for w in tokens), *END]
    for i, word in enumerate(tokens):
        ours = features(i, word, context, prev, prev2)
        assert ours == list(nltk_tagger._get_features(i, word, context, prev, prev2))
        assert len(set(ours)) == 14  # so nltk's feature values are all 1


def test_searching_all_at_once_finds_what_searching_one_by_one_finds(tmp_path):
    weights = {f"i word w{n}": {"A": n / 7} for n in range(0, 200, 3)}
    tagger = _model(tmp_path, weights)
    feats = [f"i word w{n}" for n in range(200)] + ["", "bias", "i word w" + "9" * 40]
    found = tagger._find_all(feats)
    assert found == [tagger._find(f) for f in feats]
    assert sorted(n for n in found if n >= 0) == list(range(len(weights)))


def test_tagger_matches_nltk_on_a_small_forged_model(tmp_path):
    nltk_perceptron = pytest.importorskip("nltk.tag.perceptron", reason="nltk (the test oracle) is not installed")
    classes = ["A", "B", "C"]
    words = ["dog", "cat", "the", "a", "run"]
    weights = {"bias": {"A": 0.1, "B": 0.1, "C": 0.1}}
    for n, word in enumerate(words):
        weights[f"i word {word}"] = {"A": 0.3 * n, "C": -0.2}
        weights[f"i-1 tag+i word {classes[n % 3]} {word}"] = {"B": 0.7, "C": 0.35}
        weights[f"i+1 suffix {word[-3:]}"] = {"C": 0.1 + n / 10}
    for tag in classes:
        weights[f"i-1 tag {tag}"] = {"B": 0.15, "A": 0.05}
        weights[f"i tag+i-2 tag {tag} -START-"] = {"C": 0.4}
    tagger = _model(tmp_path, weights, classes, {"a": "A"})
    oracle = nltk_perceptron.PerceptronTagger(load=False)
    oracle.decode_json_params([weights, {"a": "A"}, classes])
    for n in range(200):
        tokens = [words[(n * 7 + k * k) % 5] for k in range(n % 6 + 1)]
        assert tagger.tag(tokens) == oracle.tag(tokens), tokens


def test_pronunciations_keep_any_phones_exactly():
    table = {"b": ["B", "IY1"], "a": [], "c": ["", "S", "IY1"], "\u00e9": ["EY1"]}
    packed = Pronunciations({w: list(p) for w, p in table.items()})
    assert dict(packed.items()) == table and packed["c"] == ["", "S", "IY1"] and packed.get("z") is None
    many = {f"w{n}": [f"P{n}", f"P{n + 1}"] for n in range(300)}  # more phones than one byte numbers
    packed = Pronunciations({w: list(p) for w, p in many.items()})
    assert dict(packed.items()) == many and packed["w299"] == ["P299", "P300"]
