"""Safe checkpoint reading, version detection, pairing and the refusals."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from gsv_edge.convert.checkpoint import (
    CheckpointError,
    GptCheckpoint,
    SovitsCheckpoint,
    fold_weight_norm,
    load_any,
    load_gpt,
    load_sovits,
    read_checkpoint,
    write_checkpoint,
)
from gsv_edge.convert.versions import check_pair
from tests.conftest import require_conformance

# What upstream itself decided for each conformance file (conformance README §3, cases.json "final_model_version").
EXPECTED = {
    "v1-tiny": ("v1", "v1", "PK"),
    "v2-tiny": ("v2", "v2", "PK"),
    "v2pro-tiny": ("v2", "v2Pro", "05"),
}


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_conformance_files_load_with_their_versions(variant):
    folder = require_conformance(variant)
    gpt = load_gpt(folder / "gpt.ckpt")
    sovits = load_sovits(folder / "sovits.pth")
    gpt_symbols, sovits_version, header = EXPECTED[variant]
    assert gpt.symbol_version == gpt_symbols
    assert sovits.version == sovits_version
    assert sovits.header == header
    check_pair(gpt, sovits)
    # fp16 on disk, fp32 in memory; the tensors hold exactly the fp16 values
    assert all(t.dtype == torch.float32 for t in gpt.state_dict.values() if t.is_floating_point())
    # 31 GPT tensors in the file (README §3), prefix removed
    assert len(gpt.state_dict) == 31 and not any(k.startswith("model.") for k in gpt.state_dict)
    # the HParams config came out as plain dicts
    assert isinstance(sovits.config["model"], dict) and sovits.config["data"]["sampling_rate"] == 32000
    assert sovits.info == "1epoch_1iteration" and gpt.info == "GPT-e1"
    # weight norm folded: no g/v pairs remain
    assert not any(k.endswith(("weight_g", "weight_v")) for k in sovits.state_dict)


def test_gpt_top_k_comes_from_the_checkpoint():
    assert load_gpt(require_conformance("v1-tiny") / "gpt.ckpt").top_k == 5
    assert load_gpt(require_conformance("v2-tiny") / "gpt.ckpt").top_k == 15


@pytest.mark.parametrize("transposed", [False, True])
def test_fold_weight_norm_matches_torch(transposed):
    torch.manual_seed(0)
    conv = torch.nn.ConvTranspose1d(6, 4, 5) if transposed else torch.nn.Conv1d(6, 4, 5)
    normed = torch.nn.utils.weight_norm(conv)
    with torch.no_grad():
        normed.weight_g.mul_(torch.rand_like(normed.weight_g) + 0.5)
    x = torch.randn(1, 6, 17)
    expected = normed(x)
    folded = fold_weight_norm({k: v.detach() for k, v in normed.state_dict().items()})
    assert set(folded) == {"weight", "bias"}
    plain = torch.nn.ConvTranspose1d(6, 4, 5) if transposed else torch.nn.Conv1d(6, 4, 5)
    plain.load_state_dict(folded)
    torch.testing.assert_close(plain(x), expected, rtol=0, atol=1e-6)


def _payload_of(path: Path) -> dict:
    return dict(read_checkpoint(path).payload)


def _save(payload, path: Path, header: bytes = b"PK") -> Path:
    return write_checkpoint(payload, path, header.decode())


def test_non_checkpoint_is_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a model\n")
    with pytest.raises(CheckpointError, match="not a GPT-SoVITS checkpoint"):
        load_any(text)
    with pytest.raises(CheckpointError, match="no such file"):
        load_any(tmp_path / "missing.ckpt")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_any(tmp_path)


def test_truncated_file_is_refused(tmp_path):
    source = require_conformance("v2-tiny") / "gpt.ckpt"
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_any(cut)


class _RunsCode:
    """Unpickling this would call os.system; a safe loader must refuse it without calling anything."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    # a bare pickle (legacy torch format) ...
    bare = tmp_path / "evil.pth"
    bare.write_bytes(pickle.dumps({"weight": {}, "config": _RunsCode(marker)}, protocol=2))
    # ... and a proper torch zip whose data.pkl carries the same payload, with a v2Pro header code
    zipped = _save({"weight": {"x": torch.zeros(2)}, "config": _RunsCode(marker)}, tmp_path / "evil2.pth", b"05")
    assert zipfile.is_zipfile(io.BytesIO(b"PK" + zipped.read_bytes()[2:]))
    for path in (bare, zipped):
        with pytest.raises(CheckpointError, match="refused"):
            load_any(path)
    assert not marker.exists(), "the loader executed code from a pickle"


def _v2_sovits_payload() -> dict:
    return _payload_of(require_conformance("v2-tiny") / "sovits.pth")


@pytest.mark.parametrize(("code", "what"), [(b"03", "v3-lora"), (b"04", "v4-lora"), (b"02", "v3")])
def test_v3_v4_header_codes_are_refused(tmp_path, code, what):
    path = _save(_v2_sovits_payload(), tmp_path / "s.pth", code)
    with pytest.raises(CheckpointError, match=f"{what}.*v2Pro or v2ProPlus"):
        load_sovits(path)


def test_v3_weights_and_lora_payloads_are_refused(tmp_path):
    payload = _v2_sovits_payload()
    payload["weight"] = dict(payload["weight"], **{"cfm.estimator.proj.weight": torch.zeros(4, 4)})
    with pytest.raises(CheckpointError, match="v3/v4"):
        load_sovits(_save(payload, tmp_path / "v3.pth"))
    payload = _v2_sovits_payload()
    payload["lora_rank"] = 32
    with pytest.raises(CheckpointError, match="LoRA"):
        load_sovits(_save(payload, tmp_path / "lora.pth"))


def test_pro_header_without_speaker_layers_is_refused(tmp_path):
    path = _save(_v2_sovits_payload(), tmp_path / "fake-pro.pth", b"05")
    with pytest.raises(CheckpointError, match="sv_emb"):
        load_sovits(path)


def test_v2pro_without_header_code_is_still_recognised(tmp_path):
    payload = _payload_of(require_conformance("v2pro-tiny") / "sovits.pth")
    path = _save(payload, tmp_path / "resaved.pth", b"PK")
    ckpt = load_sovits(path)
    assert ckpt.version == "v2Pro" and ckpt.header == "PK"


def test_mismatched_pair_is_refused():
    v1_gpt = load_gpt(require_conformance("v1-tiny") / "gpt.ckpt")
    v2_sovits = load_sovits(require_conformance("v2-tiny") / "sovits.pth")
    with pytest.raises(CheckpointError, match="do not belong together.*512"):
        check_pair(v1_gpt, v2_sovits)
    v2_gpt = load_gpt(require_conformance("v2-tiny") / "gpt.ckpt")
    v1_sovits = load_sovits(require_conformance("v1-tiny") / "sovits.pth")
    with pytest.raises(CheckpointError, match="do not belong together"):
        check_pair(v2_gpt, v1_sovits)


def test_swapped_roles_are_refused():
    folder = require_conformance("v2-tiny")
    with pytest.raises(CheckpointError, match="--sovits"):
        load_gpt(folder / "sovits.pth")
    with pytest.raises(CheckpointError, match="--gpt"):
        load_sovits(folder / "gpt.ckpt")
    assert isinstance(load_any(folder / "gpt.ckpt"), GptCheckpoint)
    assert isinstance(load_any(folder / "sovits.pth"), SovitsCheckpoint)


def test_training_only_keys_are_dropped_and_listed(tmp_path):
    payload = _v2_sovits_payload()
    payload["weight"] = dict(payload["weight"], **{"enc_q.proj.weight": torch.zeros(2, 2).half()})
    ckpt = load_sovits(_save(payload, tmp_path / "with-encq.pth"))
    assert ckpt.dropped_keys == ["enc_q.proj.weight"]
    assert "enc_q.proj.weight" not in ckpt.state_dict
