"""gsv-edge convert: the pack it writes, and its refusals (nothing half written, ever)."""

from __future__ import annotations

import json

import pytest

import gsv_edge.convert.convert as pipeline
from gsv_edge.convert.convert import ConvertOptions, convert
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import read_manifest
from tests.conftest import require_conformance
from tests.test_cli import assert_one_line_error, gsv


def _options(tmp_path, variant="v2-tiny", **overrides):
    folder = require_conformance(variant)
    return ConvertOptions(folder / "gpt.ckpt", folder / "sovits.pth", tmp_path / "pack", **overrides)


def test_pack_manifest_report_and_card(tmp_path):
    out, report = convert(_options(tmp_path, t2s_format="int8"))
    manifest = read_manifest(out)  # also verifies every file's sha256
    assert manifest.model_version == "v2" and manifest.symbols == "v2" and manifest.sample_rate == 32000
    t2s = manifest.graph("t2s", "openvino")
    assert t2s.precision == "int8" and t2s.stateful
    assert manifest.graph("t2s", "onnxruntime").files == ["t2s.int8.onnx"]  # fp32 ONNX verified, not shipped
    assert manifest.sources["gpt"]["name"] == "gpt.ckpt"
    for name in ("sovits_enc", "sovits_dec"):
        assert manifest.graph(name, "openvino").precision == "fp16"  # the laptop profile's SoVITS format
    # the laptop profile keeps the ONNX encoder's FFN weights in 8 bits, checked against the fp32 one
    assert manifest.graph("sovits_enc", "onnxruntime").files == ["sovits_enc.int8.onnx"]
    assert manifest.graph("sovits_dec", "onnxruntime").precision == "fp32"
    encoder_int8 = next(c for c in report.checks if c.graph == "sovits_enc" and c.precision == "int8")
    assert encoder_int8.against == "fp32" and encoder_int8.metrics["snr_db"] >= 30
    sovits_vs_reference = [c for c in report.checks if c.graph == "sovits" and c.against == "reference"]
    assert len(sovits_vs_reference) == 2 and all(c.metrics["snr_db"] >= 60 for c in sovits_vs_reference)
    saved = json.loads((out / "report.json").read_text())
    assert saved["ok"] is True and report.ok
    fp32_vs_reference = [c for c in saved["checks"] if c["against"] == "reference" and c["graph"] == "t2s"]
    assert fp32_vs_reference and all(c["metrics"]["max_abs"] < 1e-3 for c in fp32_vs_reference)
    int8 = next(c for c in saved["checks"] if c["backend"] == "openvino" and c["precision"] == "int8")
    assert int8["metrics"]["top1_agreement"] >= 0.9
    assert "t2s" in (out / "MODEL_CARD.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


def test_existing_output_is_refused_and_left_alone(tmp_path):
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "mine.txt").write_text("keep me")
    with pytest.raises(GsvEdgeError, match="already exists.*--force"):
        convert(_options(tmp_path))
    assert (tmp_path / "pack" / "mine.txt").read_text() == "keep me"


def test_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    def interrupt(ctx):
        assert any(ctx.staging.iterdir()), "the first pass should have written into the staging folder"
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "PASSES", [*pipeline.PASSES, ("boom", interrupt)])
    with pytest.raises(KeyboardInterrupt):
        convert(_options(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_failed_parity_refuses_to_write(tmp_path, monkeypatch):
    def broken(ctx):
        ctx.report.add(pipeline.Check("t2s", "openvino", "fp32", "reference", {"max_abs": 1.0}, passed=False))

    monkeypatch.setattr(pipeline, "PASSES", [("t2s", broken)])
    with pytest.raises(pipeline.ConversionFailed, match="do not match the reference"):
        convert(_options(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_cli_refusals(tmp_path):
    v1, v2 = require_conformance("v1-tiny"), require_conformance("v2-tiny")
    out = tmp_path / "p"
    assert_one_line_error(
        gsv("convert", "--gpt", v1 / "gpt.ckpt", "--sovits", v2 / "sovits.pth", "-o", out), "do not belong together"
    )
    assert_one_line_error(
        gsv("convert", "--gpt", v2 / "gpt.ckpt", "--sovits", v2 / "sovits.pth", "-o", out, "--profile", "pi9"),
        "unknown profile",
    )
    assert_one_line_error(
        gsv("convert", "--gpt", v2 / "gpt.ckpt", "--sovits", v2 / "sovits.pth", "-o", out, "--weight-format", "int3"),
        "--weight-format",
    )
    assert not out.exists()


def test_pack_with_voice_side_graphs(tmp_path):
    hf = require_conformance("hf")
    out, report = convert(
        _options(tmp_path, "v2pro-tiny", hubert=hf / "chinese-hubert-base-tiny", bert=hf / "chinese-roberta-tiny")
    )
    manifest = read_manifest(out)
    assert manifest.model_version == "v2Pro"
    assert manifest.graph("ref_enc", "openvino").inputs == ["spec", "sv_emb"]
    assert manifest.graph("hubert", "openvino").outputs == ["codes"]
    assert manifest.graph("bert", "openvino").precision == "int8"
    assert manifest.tables["bert_tokenizer"] == "bert_tokenizer.json"
    checks = {(c.graph, c.against): c for c in report.checks}
    assert checks[("hubert", "reference")].metrics["codes_agreement"] >= 0.98
    assert checks[("bert", "fp32")].metrics["cosine"] >= 0.99
    assert report.ok


def test_missing_companion_folder_is_refused(tmp_path):
    with pytest.raises(GsvEdgeError, match="--bert .*not a folder"):
        convert(_options(tmp_path, bert=tmp_path / "nope"))
    assert list(tmp_path.iterdir()) == []
