"""The torch-free runtime: voices, synthesis, backend choice, and the say/voice commands."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

import gsv_edge.runtime.synthesizer as synthesizer_module
from gsv_edge.runtime.engine import Engine
from gsv_edge.runtime.enroll import enroll_voice
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import read_manifest
from gsv_edge.runtime.sampling import EOS, EOS_BAN_STEPS, SamplingOptions
from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
from gsv_edge.runtime.t2s import T2SEmbeddings, generate
from gsv_edge.runtime.vocoder import SAMPLE_RATE, SAMPLES_PER_TOKEN
from gsv_edge.runtime.voices import save_voice
from tests.test_cli import assert_one_line_error, gsv

TEXT = "你好，世界。今天天气很好！"


@pytest.fixture(scope="module")
def pack(runtime_pack):
    return runtime_pack


@pytest.fixture(scope="module")
def clip(reference_clip):
    return reference_clip


@pytest.fixture(scope="module")
def synth(pack, clip):
    synth = Synthesizer.load(pack)
    save_voice(enroll_voice(synth.engine, "alice", clip, "今天天气很好", "zh"), synth.voices_dir)
    return synth


def test_voice_round_trip(synth):
    voice = synth.voice("alice")
    assert voice.text == "今天天气很好。"  # upstream closes the transcript with a full stop
    assert voice.phone_ids.shape == (voice.bert.shape[1],) and voice.bert.shape[0] == 1024
    frames = (4 * 16000 + 9600 - 400) // 320 + 1  # HuBERT's 50 Hz frames for the padded clip
    assert len(voice.prompt_tokens) == (frames - 2) // 2 + 1  # ssl_proj: kernel 2, stride 2
    assert np.abs(voice.bert).sum() > 0  # the pack has BERT: real features for Chinese
    with np.load(synth.voices_dir / "alice.npz") as stored:
        saved = json.loads(stored["metadata"].tobytes())
    assert saved["pack_fingerprint"] == synth.manifest.fingerprint
    assert [p.name for p in synth.voices_dir.iterdir()] == ["alice.npz"], "one file; the audio is not stored"


def test_synthesis_is_seeded_and_sized(synth):
    voice = synth.voice("alice")
    a = synth.synthesize(TEXT, voice, "zh", SpeechOptions(seed=7))
    b = synth.synthesize(TEXT, voice, "zh", SpeechOptions(seed=7))
    c = synth.synthesize(TEXT, voice, "zh", SpeechOptions(seed=8))
    assert a.sample_rate == SAMPLE_RATE
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)
    with synth.open_stream(TEXT, voice, "zh", SpeechOptions(seed=7)) as speech:
        whole = speech.whole()
    assert np.array_equal(whole.samples, a.samples)
    assert len(speech.tokens) == len(synth.phonemize(TEXT, "zh"))
    assert all(len(t) >= EOS_BAN_STEPS for t in speech.tokens)
    spoken = sum(len(t) * SAMPLES_PER_TOKEN for t in speech.tokens)
    assert len(a.samples) == spoken + len(speech.tokens) * int(0.3 * SAMPLE_RATE)
    assert a.seconds == len(a.samples) / SAMPLE_RATE
    assert np.abs(a.samples).max() <= 1.0


def test_never_replays_the_prompt(synth, monkeypatch):
    voice = synth.voice("alice")
    vocoded = []
    real = synthesizer_module.decode_whole

    def spy(encoder, decoder, tokens, *args, **kwargs):
        vocoded.append(list(tokens))
        return real(encoder, decoder, tokens, *args, **kwargs)

    monkeypatch.setattr(synthesizer_module, "decode_whole", spy)
    for text in ("好", "你好"):
        synth.synthesize(text, voice, "zh", SpeechOptions(seed=1))
    prompt = voice.prompt_tokens.tolist()
    assert vocoded and all(tokens[: len(prompt)] != prompt for tokens in vocoded)

    # a segment that yields no token is skipped, never vocoded from the prompt
    monkeypatch.setattr(type(synth.engine), "generate_tokens", lambda *a, **k: (token for token in ()))
    vocoded.clear()
    assert len(synth.synthesize(TEXT, voice, "zh").samples) == 0 and vocoded == []
    assert list(synth.stream(TEXT, voice, "zh")) == []  # nor streamed


class _AlwaysEOS:
    """A t2s session whose every step wants to stop at once."""

    def reset(self):
        pass

    def run(self, rows, mask):
        logits = np.zeros(1025, np.float32)
        logits[EOS] = 50.0
        logits[7] = 1.0
        return logits


def test_eos_first_still_speaks_the_minimum_and_no_prompt(synth):
    embeddings = T2SEmbeddings(dict(np.load(synth.engine.pack / "t2s_embeddings.npz")))
    prompt = np.arange(20)
    result = generate(_AlwaysEOS(), embeddings, np.arange(5), np.zeros((1024, 5), np.float32), prompt,
                      SamplingOptions(top_k=5), seed=0)  # fmt: skip
    assert result.stopped_by == "eos" and len(result.tokens) == EOS_BAN_STEPS
    assert EOS not in result.tokens and result.tokens[:20] != prompt.tolist()


def test_voice_refusals(synth, pack, clip, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(16000, np.float32), 16000)
    with pytest.raises(GsvEdgeError, match="3-10 s"):
        enroll_voice(synth.engine, "x", short, "你好", "zh")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio")
    with pytest.raises(GsvEdgeError, match="cannot read the audio"):
        enroll_voice(synth.engine, "x", junk, "你好", "zh")
    with pytest.raises(GsvEdgeError, match="not allowed"):
        save_voice(dataclasses.replace(synth.voice("alice"), name="../x"), tmp_path)
    other = tmp_path / "voices"
    shutil.copytree(synth.voices_dir, other)
    with np.load(other / "alice.npz") as stored:
        arrays = {key: stored[key] for key in stored.files}
    meta = json.loads(arrays["metadata"].tobytes())
    meta["pack_fingerprint"] = "0123456789abcdef"
    np.savez(other / "alice", **{**arrays, "metadata": np.frombuffer(json.dumps(meta).encode(), np.uint8)})
    with pytest.raises(GsvEdgeError, match="enrolled for another model"):
        Synthesizer.load(pack, voices_dir=other).voice("alice")


def test_backend_choice_and_fallback(pack, tmp_path):
    assert Synthesizer.load(pack).engine.backend.name == "openvino"
    onnx = Synthesizer.load(pack, backend="onnxruntime").engine
    assert (onnx.backend.name, onnx.backend.reason) == ("onnxruntime", "requested")
    # a pack without OpenVINO IR falls back to ONNX Runtime and says why
    copy = tmp_path / "onnx-only"
    shutil.copytree(pack, copy)
    data = json.loads((copy / "manifest.json").read_text())
    data["graphs"] = [g for g in data["graphs"] if g["backend"] == "onnxruntime"]
    data["sha256"] = {f: h for f, h in data["sha256"].items() if not f.endswith((".xml", ".bin"))}
    (copy / "manifest.json").write_text(json.dumps(data))
    fallback = Synthesizer.load(copy).engine
    assert fallback.backend.name == "onnxruntime" and fallback.backend.reason.startswith("fallback")
    assert read_manifest(copy).graph("t2s", "openvino") is None
    with pytest.raises(GsvEdgeError, match="unknown backend"):
        Synthesizer.load(pack, backend="tensorrt")


def test_a_decoder_openvino_cannot_run_falls_back_at_load(pack, tmp_path, monkeypatch):
    """The decoder is warmed up at load, so an OpenVINO failure there is caught before any text arrives."""
    real = Engine._warm_up_decoder

    def broken_on_openvino(self):
        if self.backend.name == "openvino":
            raise RuntimeError("Exception from src/plugins/intel_cpu: unsupported convolution\nmore detail")
        real(self)

    monkeypatch.setattr(Engine, "_warm_up_decoder", broken_on_openvino)
    engine = Synthesizer.load(pack, voices_dir=tmp_path).engine
    assert engine.backend.name == engine.backend_for("t2s").name == "onnxruntime"
    reason = "fallback: openvino failed (Exception from src/plugins/intel_cpu: unsupported convolution)"
    assert engine.backend.reason == reason  # the first line of the engine's error
    with pytest.raises(GsvEdgeError, match="cannot load .* with openvino: Exception from src/plugins/intel_cpu"):
        Synthesizer.load(pack, backend="openvino", voices_dir=tmp_path)  # asked for OpenVINO: no fallback


def test_cli_voice_and_say(pack, clip, tmp_path):
    voices = tmp_path / "v"
    add = gsv("voice", "add", "bob", "--pack", pack, "--voices", voices, "--ref", clip, "--text", "今天天气很好",
              "--lang", "zh")  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert "bob" in gsv("voice", "list", "--pack", pack, "--voices", voices).stdout
    assert json.loads(gsv("voice", "show", "bob", "--pack", pack, "--voices", voices).stdout)["language"] == "zh"
    assert_one_line_error(
        gsv("voice", "add", "bob", "--pack", pack, "--voices", voices, "--ref", clip, "--text", "x"), "--force"
    )

    wav = tmp_path / "out.wav"
    said = gsv(
        "say", TEXT, "--pack", pack, "--voices", voices, "--voice", "bob", "--lang", "zh", "--seed", "3", "-o", wav
    )
    assert said.returncode == 0, said.stderr
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.subtype) == (32000, 1, "PCM_16")
    synth = Synthesizer.load(pack, voices_dir=voices)
    expected = synth.synthesize(TEXT, synth.voice("bob"), "zh", SpeechOptions(seed=3))
    assert info.frames == len(expected.samples)

    assert_one_line_error(gsv("say", "你好", "--pack", pack, "--voices", voices, "--voice", "nobody", "-o", wav),
                          "no voice 'nobody'")  # fmt: skip
    assert gsv("voice", "rm", "bob", "--pack", pack, "--voices", voices).returncode == 0
    assert not (voices / "bob.npz").exists()


def test_bench_reports_every_number_per_backend(pack):
    result = gsv("bench", "--pack", pack, "--repeats", "1", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["setup"], r["t2s_backend"], r["backend"]) for r in rows] == [
        ("profile", "onnxruntime", "openvino"),  # the laptop profile: GPT on ONNX Runtime, SoVITS on OpenVINO
        ("openvino", "openvino", "openvino"),
        ("onnxruntime", "onnxruntime", "onnxruntime"),
    ]
    for row in rows:
        for key in ("prefill_ms", "ms_per_token", "vocoder_rtf", "first_audio_ms", "rtf", "peak_rss_mb"):
            assert row[key] > 0, key
        assert row["precision"].startswith("t2s int8")  # the compressed graph is the one that runs
        # first audio comes after the prefill and before the whole utterance is done (rtf is rounded to 1e-3)
        assert row["prefill_ms"] <= row["first_audio_ms"] <= (row["rtf"] + 0.001) * row["audio_s"] * 1000
        assert row["load_s"] > 0
    # a fresh process pays its imports and the load before its first audio, on top of the in-process figure
    profile = rows[0]
    assert profile["process_first_audio_ms"] > profile["first_audio_ms"]
    assert all("process_first_audio_ms" not in row for row in rows[1:])


def test_doctor_reports_backends_and_the_pack(pack):
    result = gsv("doctor", "--json", "--pack", pack, "--backend", "onnxruntime")
    assert result.returncode == 0, result.stderr
    findings = {f["topic"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["openvino"]["status"] == "ok" and findings["onnxruntime"]["status"] == "ok"
    assert "sound output" in findings  # ok or missing depending on the machine, never a crash
    assert findings["backend"]["detail"].startswith("onnxruntime (requested)")
    assert findings["  t2s"]["detail"].startswith("int8")
    assert findings["  hubert"]["status"] == "ok"
    text = gsv("doctor").stdout
    assert "openvino" in text and "Traceback" not in text


def test_doctor_says_when_openvino_computes_in_another_precision_than_asked(pack):
    """A hint the CPU lacks is not an error in OpenVINO: it computes in another precision (f16 as bf16 on a Zen 4,
    f16 and bf16 as f32 on a Cortex-A72, bf16 as f16 on a Cortex-A76). doctor says which, from the compiled graph."""
    import openvino as ov

    from gsv_edge.edge.doctor import diagnose
    from gsv_edge.runtime.pack import read_manifest

    decoder = read_manifest(pack).graph("sovits_dec", "openvino")
    for asked in ("f16", "bf16", "f32"):
        compiled = ov.Core().compile_model(str(pack / decoder.files[0]), "CPU", {"INFERENCE_PRECISION_HINT": asked})
        effective = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        profile = pack.parent / f"hint-{asked}.toml"
        profile.write_text(f'name = "hint"\n[runtime]\ninference_precision = "{asked}"\n')
        lines = [f.detail for f in diagnose(pack, "openvino", str(profile)).findings if f.topic == "compute"]
        if effective == asked:
            assert lines == []
        else:
            assert lines == [f"OpenVINO computes the vocoder in {effective} here: this CPU has no {asked} "
                             f"arithmetic (the settings ask {asked})"]  # fmt: skip


def test_say_plays_to_the_null_sound_device(pack, clip, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT, require_portaudio
    from tests.test_audio_out import BOARD_ALSA

    require_portaudio()
    voices = tmp_path / "v"
    synth = Synthesizer.load(pack, voices_dir=voices)
    save_voice(enroll_voice(synth.engine, "carol", clip, "今天天气很好", "zh"), voices)
    config = tmp_path / "asound.conf"
    config.write_text(BOARD_ALSA)

    def say(*extra):
        return subprocess.run(
            [sys.executable, "-m", "gsv_edge.edge.cli", "say", "你好。", "--pack", str(pack), "--voices", str(voices),
             "--voice", "carol", "--lang", "zh", "--verbose", *extra],
            capture_output=True, text=True, cwd=REPO_ROOT, env=dict(os.environ, ALSA_CONFIG_PATH=str(config)),
            timeout=120,
        )  # fmt: skip

    result = say()
    assert result.returncode == 0, result.stderr
    assert "played; underruns:" in result.stderr
    # the 48 kHz-only device (BOARD_ALSA): chosen by name, 32 kHz refused there, so played resampled
    result = say("--audio-device", "board48")
    assert result.returncode == 0, result.stderr
    assert "played; underruns:" in result.stderr
    result = say("--audio-device", "nosuchcard")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: audio device 'nosuchcard': No output device")


def test_gpt_on_onnxruntime_beside_openvino(synth, pack):
    """The laptop settings run the GPT on ONNX Runtime and SoVITS on OpenVINO; --backend overrides both."""
    mixed = Synthesizer.load(pack, voices_dir=synth.voices_dir)
    engine = mixed.engine
    assert [engine.backend_for(g).name for g in ("t2s", "sovits_enc", "sovits_dec")] == [
        "onnxruntime", "onnxruntime", "openvino"]  # fmt: skip
    assert engine.backend.name == "openvino"
    assert engine.backend_for("t2s").reason == "settings: runtime.t2s_backend"
    assert engine.backend_for("sovits_enc").reason == "settings: runtime.sovits_enc_backend"
    only_ov = Synthesizer.load(pack, backend="openvino", voices_dir=synth.voices_dir).engine
    only_ort = Synthesizer.load(pack, backend="onnxruntime", voices_dir=synth.voices_dir)
    assert only_ov.backend_for("t2s") is only_ov.backend_for("sovits_enc") is only_ov.backend
    assert only_ov.backend.name == "openvino"
    voice = synth.voice("alice")
    tokens = {}
    for name, s in (("mixed", mixed), ("ort", only_ort)):
        # English: no BERT run (it would run on OpenVINO in one and ONNX Runtime in the other)
        with s.open_stream("Hello there, how are you today?", voice, "en", SpeechOptions(seed=3)) as speech:
            audio = speech.whole()
        tokens[name] = speech.tokens
        assert len(audio.samples) > 0 and np.isfinite(audio.samples).all()
    assert tokens["mixed"] == tokens["ort"]  # the same ONNX graph makes the tokens


def test_a_pack_runs_with_its_own_settings_or_a_profile_given_on_the_device(pack, tmp_path):
    """The settings travel in the manifest; a profile given at load (by name or file) replaces them."""
    from gsv_edge.runtime.profile import load_profile

    manifest = read_manifest(pack)
    assert manifest.settings == load_profile("laptop").settings
    assert Synthesizer.load(pack).settings == manifest.settings
    rpi4 = load_profile("rpi4").settings
    assert Synthesizer.load(pack, settings=rpi4).settings.streaming.first_chunk_tokens == 8
    # a pack from before the settings travelled with it is refused, naming the fix
    old = tmp_path / "old"
    shutil.copytree(pack, old)
    data = json.loads((old / "manifest.json").read_text())
    data["format_version"] = 2
    del data["settings"]
    (old / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(GsvEdgeError, match="pack format 2, but .* convert the model again"):
        Synthesizer.load(old)
    bad = json.loads((pack / "manifest.json").read_text())
    bad["settings"]["streaming"]["chunk_tokenz"] = 3
    (old / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(GsvEdgeError, match="unknown key streaming.chunk_tokenz"):
        Synthesizer.load(old)
