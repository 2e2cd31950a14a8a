"""gsv-edge convert: the pack it writes, and its refusals (nothing half written, ever)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import gsv_edge.convert.convert as pipeline
from gsv_edge.convert.convert import ConvertOptions, convert
from gsv_edge.convert.report import THRESHOLDS, Check, Report, Threshold
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import read_manifest
from tests.conftest import REPO_ROOT, require_conformance
from tests.test_cli import assert_one_line_error, gsv

# What the libraries underneath print during a conversion: none of it may reach the terminal by default.
NOISE = ("WARNING", "INFO:nncf", "TracerWarning", "UserWarning", "Applying Weight Compression")


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
    # each check names what it was judged by: every fp32 graph its graph's threshold, the shipped ones nothing
    for check in saved["checks"]:
        judged = check["against"] == "reference"
        assert check["threshold"] == (str(THRESHOLDS[check["graph"]]) if judged else None), check
    assert {c["threshold"] for c in saved["checks"] if c["graph"] == "t2s"} == {"max_abs <= 0.001", None}
    assert "convert.log" in manifest.sha256
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
        ctx.report.verify(("t2s", "openvino", "fp32", "reference"), {"max_abs": 1.0}, THRESHOLDS["t2s"])

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


def _convert_cli(*args, **env) -> subprocess.CompletedProcess:
    """``gsv-edge convert`` on the v2-tiny model in an 80-column terminal."""
    folder = require_conformance("v2-tiny")
    return subprocess.run(
        [sys.executable, "-m", "gsv_edge.edge.cli", "convert", "--gpt", str(folder / "gpt.ckpt"),
         "--sovits", str(folder / "sovits.pth"), *map(str, args)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=dict(os.environ, COLUMNS="80", **env),
    )  # fmt: skip


def test_cli_conversion_shows_passes_and_table_and_logs_the_rest(tmp_path):
    result = _convert_cli("-o", tmp_path / "pack")
    assert result.returncode == 0, result.stderr
    for noise in NOISE:
        assert noise not in result.stdout + result.stderr, noise
    # one line per pass that ran, kept, with its time
    passes = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("✓ ")]
    assert passes == ["checkpoints", "t2s", "sovits", "voice", "text", "pack"]
    assert all(line.endswith(" s") for line in result.stderr.splitlines() if line.startswith("✓ "))
    # the accuracy table: one row per check, every line within 80 columns
    lines = [line for line in result.stdout.splitlines() if not line.startswith("wrote ")]  # a path may be long
    assert max(len(line) for line in lines) <= 80, result.stdout
    saved = json.loads((tmp_path / "pack" / "report.json").read_text())
    rows = [line for line in lines if line.split()[:1] and line.split()[0] in {c["graph"] for c in saved["checks"]}]
    assert len(rows) == len(saved["checks"]) and all(row.rstrip()[-1] in "✓·" for row in rows)
    assert "SNR" in result.stdout and "max|Δ|" in result.stdout
    # what the libraries said is in the pack's log, which is hashed like every pack file
    log = (tmp_path / "pack" / "convert.log").read_text(encoding="utf-8")
    assert "INFO:nncf" in log and "UserWarning" in log
    assert "convert.log" in read_manifest(tmp_path / "pack").sha256


def test_cli_conversion_verbose_shows_the_libraries_output(tmp_path):
    result = _convert_cli("-o", tmp_path / "pack", "--verbose")
    assert result.returncode == 0, result.stderr
    assert "INFO:nncf" in result.stderr and "UserWarning" in result.stderr
    assert "INFO:nncf" in (tmp_path / "pack" / "convert.log").read_text(encoding="utf-8")


def test_thresholds_judge_and_are_cited():
    report = Report()
    good = report.verify(("t2s", "openvino", "fp32", "reference"), {"max_abs": 1e-4}, THRESHOLDS["t2s"])
    bad = report.verify(("sovits", "openvino", "fp32", "reference"), {"snr_db": 59.9}, THRESHOLDS["sovits"])
    measured = report.verify(("sovits", "openvino", "fp16", "fp32"), {"snr_db": 3.0})
    assert (good.passed, bad.passed, measured.passed) == (True, False, True) and not report.ok
    assert (good.threshold, bad.threshold, measured.threshold) == ("max_abs <= 0.001", "snr_db >= 60", None)
    assert [row[-1] for row in report.rows()] == ["✓", "✗", "·"]
    # the acceptance values themselves
    assert THRESHOLDS == {
        "t2s": Threshold("max_abs", "<=", 1e-3),
        "sovits": Threshold("snr_db", ">=", 60.0),
        "ref_enc": Threshold("max_abs", "<=", 1e-3),
        "hubert": Threshold("codes_agreement", ">=", 0.98),
        "sv": Threshold("cosine", ">=", 0.9999),
        "bert": Threshold("max_abs", "<=", 1e-3),
    }


def test_accuracy_table_fits_80_columns_with_long_rows():
    from rich.console import Console

    from gsv_edge.edge.cli import _accuracy_table

    report = Report()
    report.add(Check("sovits_enc", "onnxruntime", "int8 (device default)", "reference", {"snr_db": 123.4}))
    report.add(Check("sv", "onnxruntime", "fp16 (bf16)", "reference", {"cosine": 0.99991, "max_abs": 1.5e-6}))
    failed = {"top1_agreement": 0.9731, "logit_cosine": 0.9, "max_abs": 12.5}
    report.verify(("t2s", "onnxruntime", "int4", "reference"), failed, THRESHOLDS["t2s"])
    report.add(Check("g2pw", "onnxruntime", "int8", "fp32", {"readings_agreement": 0.9999}))
    console = Console(width=80, record=True)
    console.print(_accuracy_table(report))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if line.split()[:1] and line.split()[0] in {"sovits_enc", "sv", "t2s", "g2pw"}]
    assert len(body) == 4  # one line per check: nothing wrapped
    assert "readings 99.9%" in body[3]  # rounded down: never shown as meeting more than it does


def test_capture_keeps_library_output_in_the_log(tmp_path, capsys):
    """Prints, warnings and library log records go to the log; a library handler made meanwhile (bound to the
    redirected stream, as nncf's and transformers' are on first import) writes to the terminal afterwards."""
    import logging
    import warnings

    from gsv_edge.convert.log import captured

    logger = logging.getLogger("nncf.test_capture")
    with captured(tmp_path / "convert.log") as capture:
        print("printed")
        warnings.warn("a library warning", UserWarning, stacklevel=1)
        made_meanwhile = logging.StreamHandler(sys.stdout)
        made_meanwhile.flush = sys.stdout.flush  # what transformers does with its handler
        logger.addHandler(made_meanwhile)
        logger.warning("a library record")
        with capture.uncaptured():
            print("progress")
    try:
        logger.warning("after the conversion")
    finally:
        logger.removeHandler(made_meanwhile)
    log = (tmp_path / "convert.log").read_text(encoding="utf-8")
    assert "printed" in log and "UserWarning: a library warning" in log and "a library record" in log
    assert "progress" not in log and "after the conversion" not in log
    out = capsys.readouterr().out
    assert "progress" in out and "after the conversion" in out and "printed" not in out
