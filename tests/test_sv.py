"""v2Pro/v2ProPlus speaker verification: the ERes2NetV2 checkpoint, the numpy Kaldi fbank, the exported sv graph,
enrollment through it, and the refusals.

No real ERes2NetV2 weights exist offline, so the checkpoint is a seeded random state dict under upstream's exact
names, stored as upstream's file is (a plain ``torch.save``'d state dict).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest
import soundfile as sf
import torch

from gsv_edge.convert.checkpoint import write_checkpoint
from gsv_edge.convert.convert import ConvertOptions, convert
from gsv_edge.convert.passes.common import synthetic_voice
from gsv_edge.convert.reference.eres2net import SV_EMBEDDING_DIM, SV_FILE, ERes2NetV2, load_sv
from gsv_edge.runtime.enroll import enroll_voice
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.fbank import fbank
from gsv_edge.runtime.pack import read_manifest
from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
from tests.conftest import require_conformance
from tests.test_cli import assert_one_line_error, gsv

F32 = {"INFERENCE_PRECISION_HINT": "f32"}
# A few of upstream's names, one per kind of module (stem, plain block, AFF block, shortcut, fusion, head).
UPSTREAM_KEYS = (
    "conv1.weight", "bn1.num_batches_tracked", "layer1.0.convs.3.weight", "layer2.0.shortcut.1.running_var",
    "layer3.5.fuse_models.2.local_att.3.bias", "layer4.2.bns.0.weight", "layer3_ds.weight",
    "fuse34.local_att.4.running_mean", "seg_1.weight",
)  # fmt: skip


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """ERes2NetV2 w24 s4 with seeded random weights and batch-norm statistics (so no layer is an identity)."""
    torch.manual_seed(seed)
    state = ERes2NetV2().state_dict()
    generator = torch.Generator().manual_seed(seed + 1)
    for name, tensor in state.items():
        if name.endswith("running_mean"):
            state[name] = 0.1 * torch.randn(tensor.shape, generator=generator)
        elif name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(tensor.shape, generator=generator)
        elif name.endswith(".bias") and "bn" not in name:
            state[name] = 0.05 * torch.randn(tensor.shape, generator=generator)
    return state


@pytest.fixture(scope="module")
def sv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sv") / SV_FILE
    torch.save(random_state_dict(), path)
    return path


@pytest.fixture(scope="module")
def sv_model(sv_file):
    return load_sv(sv_file).model


@pytest.fixture(scope="module")
def sv_pack(tmp_path_factory, sv_file):
    """v2pro-tiny with HuBERT and the random sv checkpoint, laptop profile (IR + ONNX)."""
    folder, hf = require_conformance("v2pro-tiny"), require_conformance("hf")
    out = tmp_path_factory.mktemp("sv-pack") / "pack"
    options = ConvertOptions(
        folder / "gpt.ckpt", folder / "sovits.pth", out, t2s_format="fp16", hubert=hf / "chinese-hubert-base-tiny",
        sv=sv_file,
    )  # fmt: skip
    return convert(options)


# --- the checkpoint -----------------------------------------------------------------------------------------


def test_loader_reads_upstream_names(sv_file, sv_model):
    saved = torch.load(sv_file, weights_only=True)
    assert all(name in saved for name in UPSTREAM_KEYS)
    loaded = sv_model.state_dict()
    assert list(loaded) == list(saved)  # same names, same order: nothing missing or left over
    assert all(torch.equal(loaded[name], saved[name]) for name in saved)
    assert not sv_model.training


def test_stored_fp16_loads_as_fp32(tmp_path):
    path = tmp_path / SV_FILE
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in random_state_dict(3).items()}, path)
    assert load_sv(path).model.conv1.weight.dtype == torch.float32


def test_embedding_shape_and_length_independence(sv_model):
    with torch.no_grad():
        short, long = sv_model(torch.randn(1, 64, 80)), sv_model(torch.randn(1, 161, 80))
    assert short.shape == long.shape == (1, SV_EMBEDDING_DIM)  # time is averaged away


# --- fbank --------------------------------------------------------------------------------------------------


def torch_fbank(wave: torch.Tensor) -> torch.Tensor:
    """Independent torch rendition of torchaudio.compliance.kaldi.fbank(num_mel_bins=80, sample_frequency=16000,
    dither=0) in float32: Kaldi's defaults written out step by step."""
    size, shift, padded = 400, 160, 512
    frames = wave.unfold(0, size, shift)  # snip_edges: whole frames only
    frames = frames - frames.mean(dim=1, keepdim=True)
    shifted = torch.nn.functional.pad(frames.unsqueeze(0), (1, 0), mode="replicate").squeeze(0)[:, :-1]
    frames = frames - 0.97 * shifted
    frames = frames * torch.hann_window(size, periodic=False).pow(0.85)
    frames = torch.nn.functional.pad(frames, (0, padded - size))
    power = torch.fft.rfft(frames).abs().pow(2)

    def mel(hz):
        return 1127.0 * torch.log1p(torch.as_tensor(hz, dtype=torch.float32) / 700.0)

    low, high = mel(20.0), mel(8000.0)
    step = (high - low) / 81
    index = torch.arange(80, dtype=torch.float32)[:, None]
    left, centre, right = low + index * step, low + (index + 1) * step, low + (index + 2) * step
    bins = mel(16000 / padded * torch.arange(padded // 2, dtype=torch.float32))[None]
    weights = torch.clamp(torch.minimum((bins - left) / (centre - left), (right - bins) / (right - centre)), min=0)
    weights = torch.cat([weights, torch.zeros(80, 1)], dim=1)
    return torch.clamp(power @ weights.T, min=torch.finfo(torch.float32).eps).log()


@pytest.mark.parametrize(
    "kind",
    ["voice", "noise", "quiet", "silence-then-voice", "odd-length"],
)
def test_fbank_matches_kaldi_reference(kind):
    rng = np.random.default_rng(11)
    wave = {
        "voice": synthetic_voice(16000, 3.0, 1),
        "noise": 0.1 * rng.standard_normal(16000),
        "quiet": 1e-4 * rng.standard_normal(8000),
        "silence-then-voice": np.concatenate([np.zeros(4000), synthetic_voice(16000, 1.0, 2)]),
        "odd-length": synthetic_voice(16000, 1.0, 3)[:12345],
    }[kind].astype(np.float32)
    got = fbank(wave)
    expected = torch_fbank(torch.from_numpy(wave)).numpy()
    assert got.shape == expected.shape == (1 + (len(wave) - 400) // 160, 80)
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-3


def test_fbank_refuses_a_clip_shorter_than_one_frame():
    with pytest.raises(GsvEdgeError, match="too short"):
        fbank(np.zeros(399, np.float32))


# --- export -------------------------------------------------------------------------------------------------


def test_pack_has_sv_graphs_and_checks(sv_pack, sv_file):
    out, report = sv_pack
    manifest = read_manifest(out)
    for backend, precision in (("openvino", "fp16"), ("onnxruntime", "fp32")):
        graph = manifest.graph("sv", backend)
        assert (graph.precision, graph.inputs, graph.outputs) == (precision, ["fbank"], ["sv_emb"])
    assert manifest.sources["sv"]["name"] == SV_FILE
    checks = {(c.graph, c.backend, c.against): c for c in report.checks if c.graph == "sv"}
    assert checks[("sv", "openvino", "reference")].metrics["cosine"] >= 0.9999
    assert checks[("sv", "onnxruntime", "reference")].metrics["cosine"] >= 0.9999
    assert checks[("sv", "openvino", "fp32")].metrics["cosine"] >= 0.99
    assert report.ok


def test_exported_sv_graph_matches_reference(sv_pack, sv_model, tmp_path):
    out, _ = sv_pack
    manifest = read_manifest(out)
    features = fbank(synthetic_voice(16000, 4.0, 9))[None]
    with torch.no_grad():
        expected = sv_model(torch.from_numpy(features)).numpy()
    scale = np.abs(expected).max()

    ir = ov.Core().compile_model(out / manifest.graph("sv", "openvino").files[0], "CPU", F32)
    got_ir = ir({"fbank": features})["sv_emb"]  # fp16 weights, fp32 arithmetic
    session = ort.InferenceSession(str(out / manifest.graph("sv", "onnxruntime").files[0]))
    got_onnx = session.run(["sv_emb"], {"fbank": features})[0]
    assert got_ir.shape == got_onnx.shape == (1, SV_EMBEDDING_DIM)
    assert np.abs(got_onnx - expected).max() <= 1e-4 * scale
    assert np.abs(got_ir - expected).max() <= 2e-2 * scale  # the shipped IR stores fp16 weights


# --- enrollment ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("sv-clip") / "ref.wav"
    sf.write(path, synthetic_voice(44100, 4.0, 5), 44100)
    return path


def test_enroll_and_speak_v2pro(sv_pack, clip):
    synth = Synthesizer.load(sv_pack[0])
    voice = enroll_voice(synth.engine, "pro", clip, "今天天气很好", "zh")
    assert voice.ge.shape == (64,) and np.isfinite(voice.ge).all()  # v2pro-tiny: gin_channels 64
    audio = synth.synthesize("你好，世界。", voice, "zh", SpeechOptions(seed=3)).samples
    assert len(audio) > 0 and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


def test_enrollment_uses_the_speaker_embedding(sv_pack, clip):
    """ge from enroll equals ref_enc fed the fbank → sv graph result, and differs from a zero embedding."""
    import soxr

    synth = Synthesizer.load(sv_pack[0], backend="onnxruntime")
    voice = enroll_voice(synth.engine, "pro", clip, "今天天气很好", "zh")
    audio, rate = sf.read(clip, dtype="float32")
    audio32 = soxr.resample(audio, rate, 32000).astype(np.float32)
    from gsv_edge.runtime.voice_features import linear_spectrogram

    spec = linear_spectrogram(audio32)[None]
    sv_emb = synth.engine.run("sv", {"fbank": fbank(soxr.resample(audio32, 32000, 16000))[None]})
    ge = synth.engine.run("ref_enc", {"spec": spec, "sv_emb": sv_emb["sv_emb"]})["ge"][0]
    zero = synth.engine.run("ref_enc", {"spec": spec, "sv_emb": np.zeros((1, 20480), np.float32)})
    np.testing.assert_allclose(voice.ge, ge, rtol=1e-5, atol=1e-6)
    assert not math.isclose(float(np.abs(voice.ge - zero["ge"][0]).max()), 0.0, abs_tol=1e-4)


def test_v2pro_pack_without_sv_refuses_enrollment(sv_pack, clip):
    synth = Synthesizer.load(sv_pack[0])
    engine = synth.engine
    engine.manifest = dataclasses.replace(engine.manifest, graphs=[g for g in engine.manifest.graphs if g.name != "sv"])
    with pytest.raises(GsvEdgeError, match=f"upstream's {SV_FILE}") as err:
        enroll_voice(synth.engine, "pro", clip, "今天天气很好", "zh")
    assert "\n" not in str(err.value) and err.value.option == "sv"  # the command line names its --sv


# --- refusals -----------------------------------------------------------------------------------------------


def _refusal(path) -> str:
    with pytest.raises(GsvEdgeError) as err:
        load_sv(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith("--sv ") and SV_FILE in message
    return message


def test_refuses_unreadable_files(tmp_path):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    assert "not a GPT-SoVITS checkpoint" in _refusal(garbage)
    assert "no such file" in _refusal(tmp_path / "missing.ckpt")
    truncated = tmp_path / "truncated.ckpt"
    torch.save({"conv1.weight": torch.zeros(64, 1, 3, 3)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    assert "truncated or corrupt" in _refusal(truncated)


def test_refuses_other_state_dicts(tmp_path):
    state = random_state_dict()
    state.pop("seg_1.bias")
    state["fc.weight"] = torch.zeros(2)
    wrong_keys = tmp_path / "wrong-keys.ckpt"
    torch.save(state, wrong_keys)
    message = _refusal(wrong_keys)
    assert "1 missing keys, e.g. seg_1.bias" in message and "1 unexpected keys, e.g. fc.weight" in message
    smaller = tmp_path / "w26s2.ckpt"  # another ERes2NetV2 size: same names, other shapes
    torch.save(random_state_dict() | {"conv1.weight": torch.zeros(32, 1, 3, 3)}, smaller)
    assert "conv1.weight is (32, 1, 3, 3)" in _refusal(smaller)
    model_file = write_checkpoint({"weight": {}, "config": {"model": {}}, "info": ""}, tmp_path / "sovits.pth")
    assert "GPT-SoVITS model file" in _refusal(model_file)


def test_refuses_code_in_the_pickle(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))

    path = tmp_path / "evil.ckpt"
    torch.save({"conv1.weight": Evil()}, path, pickle_module=pickle)
    assert "refused" in _refusal(path)


def test_sv_is_refused_for_models_without_speaker_verification(tmp_path, sv_file):
    v2 = require_conformance("v2-tiny")
    out = tmp_path / "pack"
    with pytest.raises(GsvEdgeError, match="--sv is only for v2Pro/v2ProPlus models.*v2 model"):
        convert(ConvertOptions(v2 / "gpt.ckpt", v2 / "sovits.pth", out, sv=sv_file))
    assert not out.exists()


def test_cli_sv_refusals(tmp_path):
    pro, v2 = require_conformance("v2pro-tiny"), require_conformance("v2-tiny")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 64)
    out = tmp_path / "pack"

    def convert_with_bad_sv(folder):
        return gsv("convert", "--gpt", folder / "gpt.ckpt", "--sovits", folder / "sovits.pth", "-o", out, "--sv", bad)

    assert_one_line_error(convert_with_bad_sv(pro), "--sv", SV_FILE)
    assert_one_line_error(convert_with_bad_sv(v2), "--sv is only for v2Pro/v2ProPlus", "drop --sv")
    assert not out.exists()
