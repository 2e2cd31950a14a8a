"""Device profiles and the settings they carry: loaded, validated, refused with a message naming the key."""

from __future__ import annotations

from importlib import resources

import pytest

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.profile import ConvertSettings, available_profiles, load_profile
from gsv_edge.runtime.settings import RuntimeSettings, Settings, StreamingSettings

LAPTOP = (resources.files("gsv_edge.profiles") / "laptop.toml").read_text()


def test_bundled_profiles():
    assert available_profiles() == ["laptop", "nuc", "rpi4", "rpi5"]
    for name in available_profiles():
        profile = load_profile(name)
        assert profile.name == name
        assert profile.settings.streaming.first_chunk_tokens < profile.settings.streaming.chunk_tokens
    rpi4 = load_profile("rpi4")
    assert rpi4.convert.t2s_weight_format == ("int4",)  # a single format is a list of one
    assert rpi4.settings.runtime.inference_precision == "f32"
    assert (rpi4.settings.streaming.first_chunk_tokens, rpi4.settings.streaming.chunk_tokens) == (8, 32)
    assert rpi4.settings.streaming.decoder_windows == (48,)
    # a 48-frame window keeps 12 new tokens beside its context: the chunks after the first come in whole windows
    assert rpi4.settings.streaming.tokens_per_window == 12
    assert [rpi4.settings.streaming.next_chunk(n) for n in (8, 12, 24)] == [12, 24, 24]
    # what a profile leaves out is the one default
    assert rpi4.settings.streaming.lookahead_tokens == StreamingSettings().lookahead_tokens == 8
    assert load_profile("laptop").settings == Settings()
    assert load_profile("laptop").convert == ConvertSettings()


def test_unknown_profile_lists_the_choices():
    with pytest.raises(GsvEdgeError, match="unknown profile 'pi9'.*laptop, nuc, rpi4, rpi5"):
        load_profile("pi9")


def test_custom_profile_file_is_validated(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text(LAPTOP.replace('name = "laptop"', 'name = "myboard"'))
    assert load_profile(good).name == "myboard"
    nameless = tmp_path / "board2.toml"
    nameless.write_text("[streaming]\nfirst_chunk_tokens = 6\n")
    assert load_profile(nameless).name == "board2"  # the file's stem
    assert load_profile(nameless).settings.streaming.first_chunk_tokens == 6
    bad = tmp_path / "bad.toml"
    bad.write_text(LAPTOP.replace('t2s_weight_format = "int8"', 't2s_weight_format = "int3"'))
    with pytest.raises(GsvEdgeError, match="t2s_weight_format must be one of"):
        load_profile(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(GsvEdgeError, match="not valid TOML"):
        load_profile(broken)
    with pytest.raises(GsvEdgeError, match="not found"):
        load_profile(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[streaming]\nfirst_chunk_tokenz = 8\n",
            r"unknown key streaming\.first_chunk_tokenz; the keys of \[streaming\]",
        ),
        ("[runtime]\ndevice = 'CPU'\n", r"unknown key runtime\.device"),
        ("[convert]\nonx = true\n", r"unknown key convert\.onx"),
        ("[runtim]\nthreads = 2\n", r"unknown key 'runtim'"),
        ("colour = 'red'\n", r"unknown key 'colour'"),
    ],
)
def test_an_unknown_key_is_refused_naming_it(tmp_path, text, message):
    path = tmp_path / "typo.toml"
    path.write_text(text)
    with pytest.raises(GsvEdgeError, match=message):
        load_profile(path)


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ("streaming", 'overlap = "yes"', "streaming.overlap must be true or false"),
        ("streaming", "lookahead_tokens = -1", r"streaming.lookahead_tokens must be an integer ≥ 0"),
        ("streaming", "first_chunk_tokens = 0", "streaming.first_chunk_tokens must be a positive integer"),
        ("streaming", "first_chunk_tokens = 8.5", "streaming.first_chunk_tokens must be a positive integer"),
        ("streaming", "crossfade_ms = -5", "streaming.crossfade_ms must be a number"),
        ("streaming", "decoder_windows = [88, 20]", "streaming.decoder_windows must be a list"),
        ("streaming", "decoder_windows = 88", "streaming.decoder_windows must be a list"),
        ("streaming", "decoder_windows = []", "streaming.decoder_windows must be a list"),
        ("runtime", "vocoder_threads = 1.5", "runtime.vocoder_threads must be an integer"),
        ("runtime", "threads = true", "runtime.threads must be an integer"),
        ("runtime", 'sovits_enc_backend = "tvm"', "runtime.sovits_enc_backend must be one of"),
        ("runtime", 'inference_precision = "f8"', "runtime.inference_precision must be one of"),
        ("convert", 'sovits_enc_onnx_format = "int4"', "convert.sovits_enc_onnx_format must be one of"),
        ("convert", "onnx = 1", "convert.onnx must be true or false"),
    ],
)
def test_values_are_validated(tmp_path, table, line, message):
    path = tmp_path / "bad.toml"
    path.write_text(f"[{table}]\n{line}\n")
    with pytest.raises(GsvEdgeError, match=message):
        load_profile(path)


def test_settings_round_trip_through_plain_data():
    settings = Settings(
        RuntimeSettings(backend="onnxruntime", threads=3),
        StreamingSettings(first_chunk_tokens=9, crossfade_ms=12.5, decoder_windows=(48, 144), overlap=True),
    )
    assert Settings.from_dict(settings.to_dict(), "test") == settings
    assert Settings.from_dict({"streaming": {"decoder_windows": [144, 48]}}, "t").streaming.decoder_windows == (48, 144)
    assert StreamingSettings(decoder_windows=(144, 48, 96)).decoder_windows == (48, 96, 144)  # built directly too
    with pytest.raises(GsvEdgeError, match="unknown settings table"):
        Settings.from_dict({"convert": {}}, "manifest.json")


def test_chunk_sizes_follow_the_settings():
    laptop = StreamingSettings(decoder_windows=(96,))
    assert laptop.tokens_per_window == 36
    assert [laptop.next_chunk(n) for n in (12, 36, 72)] == [36, 72, 72]
    assert StreamingSettings(chunk_tokens=100, decoder_windows=(96,)).next_chunk(72) == 72  # 2 whole windows
    small = StreamingSettings(first_chunk_tokens=8, chunk_tokens=32, decoder_windows=(96,))  # below one window
    assert [small.next_chunk(n) for n in (8, 16, 32)] == [16, 32, 32]
    assert RuntimeSettings().backend_for("t2s") == "onnxruntime"
    assert RuntimeSettings().only("openvino").backend_for("sovits_enc") == "openvino"
