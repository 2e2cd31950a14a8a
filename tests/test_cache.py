"""The cache folder: the English front end's packed tables are built once and read back while the installed
data files stay the same; a damaged or unwritable cache only costs a rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from gsv_edge.runtime.cache import cached_arrays


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "gsv-edge" / "text"


def test_arrays_are_built_once_and_again_when_a_source_changes(tmp_path, cache):
    source = tmp_path / "data.txt"
    source.write_text("one")
    builds = []

    def build():
        builds.append(source.read_text())
        return {"letters": np.frombuffer(source.read_bytes(), np.uint8)}

    first = cached_arrays("table", [source], build)
    again = cached_arrays("table", [source], build)
    assert builds == ["one"] and again["letters"].tobytes() == first["letters"].tobytes() == b"one"
    assert len(list(cache.glob("table-*.npz"))) == 1

    source.write_text("three")  # another size (and time): built afresh, the outdated file removed
    assert cached_arrays("table", [source], build)["letters"].tobytes() == b"three"
    assert builds == ["one", "three"] and len(list(cache.glob("table-*.npz"))) == 1

    (stored,) = cache.glob("table-*.npz")
    stored.write_bytes(stored.read_bytes()[:20])  # cut short (a full disk, a crash): rebuilt, not an error
    assert cached_arrays("table", [source], build)["letters"].tobytes() == b"three"
    assert len(builds) == 3
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_cache_only_means_building_each_time(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file where the folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "data.txt"
    source.write_text("x")
    builds = []
    for _ in range(2):
        cached_arrays("table", [source], lambda: builds.append(1) or {"x": np.zeros(1)})
    assert len(builds) == 2


def test_english_tables_read_back_from_the_cache_equal_freshly_built_ones(cache):
    from gsv_edge.runtime.text import en_data, en_lexicon
    from gsv_edge.runtime.text.en_tagger import PerceptronTagger

    files = en_data.tagger_files()
    built_lexicon = en_lexicon.load()
    built_tagger = PerceptronTagger(files["weights"], files["tagdict"], files["classes"])
    assert sorted(p.name.split("-")[1] for p in cache.glob("*.npz")) == ["lexicon", "tagger"]
    cached_lexicon = en_lexicon.load()
    cached_tagger = PerceptronTagger(files["weights"], files["tagdict"], files["classes"])

    assert cached_lexicon.source == built_lexicon.source
    assert list(cached_lexicon.words.items()) == list(built_lexicon.words.items())
    assert list(cached_lexicon.names.items()) == list(built_lexicon.names.items())
    for name in ("_values", "_ids", "_value_ids", "_keys", "_starts", "_counts"):
        assert bytes(getattr(cached_tagger, name)) == bytes(getattr(built_tagger, name)), name
    sentence = "The old man the boats , and they read a complex book in 1999 ."
    assert cached_tagger.tag(sentence.split()) == built_tagger.tag(sentence.split())


def test_a_damaged_but_readable_table_is_built_again(cache, monkeypatch):
    """A cache file that still unzips but whose arrays do not hold together (offsets past the data, keys out of
    order) is not used: the tables are built afresh from the installed files."""
    from gsv_edge.runtime.text import en_data, en_lexicon
    from gsv_edge.runtime.text import en_tagger as tagger_module

    files = en_data.tagger_files()
    fresh_lexicon = en_lexicon.load()
    fresh_tagger = tagger_module.PerceptronTagger(files["weights"], files["tagdict"], files["classes"])
    for name, damage in (("lexicon", "words_words"), ("tagger", "keys")):
        (stored,) = cache.glob(f"en-{name}-*.npz")
        with np.load(stored) as data:
            arrays = {field: data[field] for field in data.files}
        arrays[damage] = arrays[damage][::-1].copy() if damage == "keys" else arrays[damage][:-5]
        with open(stored, "wb") as handle:
            np.savez(handle, **arrays)

    builds = []
    monkeypatch.setattr(en_lexicon, "_packed", lambda *a, real=en_lexicon._packed: builds.append("lexicon") or real(*a))
    monkeypatch.setattr(
        tagger_module, "_scan_weights", lambda *a, real=tagger_module._scan_weights: builds.append("tagger") or real(*a)
    )
    lexicon = en_lexicon.load()
    tagger = tagger_module.PerceptronTagger(files["weights"], files["tagdict"], files["classes"])
    assert sorted(builds) == ["lexicon", "tagger"]
    assert list(lexicon.words.items()) == list(fresh_lexicon.words.items())
    assert bytes(tagger._keys) == bytes(fresh_tagger._keys)
