"""Device profiles load, validate, and refuse bad input with a message naming the fix."""

from __future__ import annotations

import pytest

from edge.errors import UserError
from edge.profiles import available_profiles, load_profile


def test_bundled_profiles():
    assert available_profiles() == ["laptop", "nuc", "rpi4", "rpi5"]
    for name in available_profiles():
        profile = load_profile(name)
        assert profile.name == name
        assert profile.streaming["first_chunk_tokens"] < profile.streaming["chunk_tokens"]
    assert load_profile("rpi4").convert["t2s_weight_format"] == "int4"
    assert load_profile("rpi4").runtime["inference_precision"] == "f32"


def test_unknown_profile_lists_the_choices():
    with pytest.raises(UserError, match="unknown profile 'pi9'.*laptop, nuc, rpi4, rpi5"):
        load_profile("pi9")


def test_custom_profile_file_is_validated(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text((load_profile.__globals__["resources"].files("profiles") / "laptop.toml").read_text())
    assert load_profile(good).name == "laptop"
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace('t2s_weight_format = "int8"', 't2s_weight_format = "int3"'))
    with pytest.raises(UserError, match="t2s_weight_format must be one of"):
        load_profile(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(UserError, match="not valid TOML"):
        load_profile(broken)
    with pytest.raises(UserError, match="not found"):
        load_profile(tmp_path / "missing.toml")
