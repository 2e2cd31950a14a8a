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


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("overlap = false", 'overlap = "yes"', "streaming.overlap must be true or false"),
        ("lookahead_tokens = 8", "lookahead_tokens = -1", "streaming.lookahead_tokens must be an integer"),
        ("crossfade_ms = 20", "crossfade_ms = -5", "streaming.crossfade_ms must be a number"),
        ('device = "CPU"', 'device = "CPU"\nvocoder_threads = 1.5', "runtime.vocoder_threads must be an integer"),
        ("decoder_windows = [88]", "decoder_windows = [88, 20]", "streaming.decoder_windows must be a list"),
        ("decoder_windows = [88]", "decoder_windows = 88", "streaming.decoder_windows must be a list"),
        ("decoder_windows = [88]", "decoder_windows = []", "streaming.decoder_windows must be a list"),
        ('sovits_enc_backend = "onnxruntime"', 'sovits_enc_backend = "tvm"', "runtime.sovits_enc_backend must be"),
        ('sovits_enc_onnx_format = "int8"', 'sovits_enc_onnx_format = "int4"', "sovits_enc_onnx_format must be"),
    ],
)
def test_streaming_and_thread_settings_are_validated(tmp_path, old, new, message):
    laptop = (load_profile.__globals__["resources"].files("profiles") / "laptop.toml").read_text()
    assert old in laptop
    bad = tmp_path / "bad.toml"
    bad.write_text(laptop.replace(old, new))
    with pytest.raises(UserError, match=message):
        load_profile(bad)


def test_streaming_plan_comes_from_the_profile():
    from runtime.streaming import ChunkPlan

    plan = ChunkPlan.from_profile(load_profile("rpi4").streaming)
    assert (plan.first_chunk_tokens, plan.chunk_tokens, plan.lookahead_tokens, plan.overlap) == (8, 32, 8, False)
    assert plan.decoder_windows == (96,)
    assert ChunkPlan.from_profile({"decoder_windows": [144, 48]}).decoder_windows == (48, 144)  # kept ascending
