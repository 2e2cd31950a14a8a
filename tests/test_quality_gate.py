"""The quality gate: convert keeps the first format of a profile's list that stays close to fp32 on these weights.

One conversion of the tiny v2 conformance model, its GPT given outlier weights (one weight per 64-column group
scaled ×8, so a symmetric INT4 group's step is set by the outlier and the other 63 weights round to a few
levels): the GPT's INT4 must fail the gate and its INT8 fallback be kept, while SoVITS' first format (fp16)
passes and is kept without trying the next.
"""

from __future__ import annotations

import json

import pytest
import torch

from gsv_edge.convert.checkpoint import read_checkpoint, write_checkpoint
from gsv_edge.convert.convert import ConvertOptions, convert
from gsv_edge.convert.gate import choose
from gsv_edge.convert.report import Report, Threshold
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import read_manifest
from gsv_edge.runtime.profile import load_profile
from tests.conftest import require_conformance

OUTLIER_SCALE = 8.0
GATED_PROFILE = """name = "gated"
[convert]
t2s_weight_format = ["int4", "int8"]
sovits_weight_format = ["fp16", "fp32"]
sovits_min_snr_db = 15.0
onnx = false
"""


def _with_outliers(source, target) -> None:
    """The GPT checkpoint with one weight per 64 input columns of every layer matrix scaled by OUTLIER_SCALE."""
    raw = read_checkpoint(source)
    generator = torch.Generator().manual_seed(0)
    weights = {}
    for name, tensor in raw.payload["weight"].items():
        if ".layers." in name and tensor.dim() == 2:
            tensor = tensor.float().clone()
            for start in range(0, tensor.shape[1], 64):
                column = start + int(torch.randint(0, min(64, tensor.shape[1] - start), (1,), generator=generator))
                tensor[:, column] *= OUTLIER_SCALE
            tensor = tensor.half()
        weights[name] = tensor
    write_checkpoint({**raw.payload, "weight": weights}, target)


@pytest.fixture(scope="module")
def gated_pack(tmp_path_factory):
    folder = require_conformance("v2-tiny")
    work = tmp_path_factory.mktemp("gate")
    _with_outliers(folder / "gpt.ckpt", work / "gpt.ckpt")
    (work / "gated.toml").write_text(GATED_PROFILE)
    pack, _ = convert(ConvertOptions(work / "gpt.ckpt", folder / "sovits.pth", work / "pack",
                                     profile=str(work / "gated.toml")))  # fmt: skip
    return pack


def _choice(report: dict, graph: str) -> dict:
    return next(c for c in report["choices"] if c["graph"] == graph and c["backend"] == "openvino")


def test_gate_falls_back_when_the_first_format_fails(gated_pack):
    report = json.loads((gated_pack / "report.json").read_text())
    t2s = _choice(report, "t2s")
    assert [c["format"] for c in t2s["candidates"]] == ["int4", "int8"]
    int4, int8 = t2s["candidates"]
    assert not int4["passed"] and int4["metrics"]["top1_agreement"] < 0.9  # the outliers wreck INT4
    assert int8["passed"] and int8["metrics"]["top1_agreement"] >= 0.9 and int8["metrics"]["logit_cosine"] >= 0.99
    assert t2s["chosen"] == "int8" and t2s["passed"] and not t2s["forced"]
    assert t2s["gate"] == ["top1_agreement >= 0.9", "logit_cosine >= 0.99"]
    manifest = read_manifest(gated_pack)  # every file's sha256 checked: the rejected INT4 files are not in it
    assert manifest.graph("t2s", "openvino").precision == "int8"
    assert not list(gated_pack.glob("t2s.int4.*"))
    card = (gated_pack / "MODEL_CARD.md").read_text()
    assert "| t2s | openvino |" in card and "int4: top1_agreement" in card and "| int8 |" in card


def test_gate_keeps_the_first_format_when_it_passes(gated_pack):
    report = json.loads((gated_pack / "report.json").read_text())
    sovits = _choice(report, "sovits")
    assert [c["format"] for c in sovits["candidates"]] == ["fp16"]  # fp32 was never built
    assert sovits["chosen"] == "fp16" and sovits["candidates"][0]["metrics"]["snr_db"] >= 15.0
    assert sovits["gate"] == ["snr_db >= 15"]
    manifest = read_manifest(gated_pack)
    assert {manifest.graph(g, "openvino").precision for g in ("sovits_enc", "sovits_dec")} == {"fp16"}
    assert not list(gated_pack.glob("sovits_*.fp32.*"))
    # the streamed-vs-whole figure of the kept pair, over the report's sentences
    streamed = next(c for c in report["checks"] if c["graph"] == "sovits_stream")
    assert streamed["against"] == "whole" and streamed["precision"].startswith("fp16")
    assert streamed["metrics"]["snr_db"] <= streamed["metrics"]["mean_snr_db"]


def test_choose_keeps_the_last_when_none_passes_and_says_so():
    report, built, discarded = Report(), [], []

    def build(fmt):
        built.append(fmt)
        return fmt, {"snr_db": {"int8": 5.0, "fp16": 12.0}[fmt]}

    kept = choose(("sovits", "openvino"), ("int8", "fp16"), [Threshold("snr_db", ">=", 20.0)], build,
                  discarded.append, report)  # fmt: skip
    assert kept == ("fp16", "fp16") and built == ["int8", "fp16"] and discarded == ["int8"]
    assert report.choices[0].chosen == "fp16" and not report.choices[0].passed
    assert report.notes == [
        "sovits on openvino: fp16 kept although it misses the quality gate (snr_db >= 20): the profile lists "
        "nothing after it"
    ]
    forced = Report()
    choose(("t2s", "openvino"), ("int4",), [Threshold("top1_agreement", ">=", 0.9)],
           lambda fmt: (fmt, {"top1_agreement": 0.5}), discarded.append, forced, forced=True)  # fmt: skip
    assert forced.choices[0].forced and "forced on the command line" in forced.notes[0]


def test_profile_format_lists(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[convert]\nt2s_weight_format = ["int4", "int8"]\nsovits_weight_format = "int8"\n')
    convert_settings = load_profile(good).convert
    assert convert_settings.t2s_weight_format == ("int4", "int8")
    assert convert_settings.sovits_weight_format == ("int8",)  # the single-format syntax still works
    for bad, problem in (('["int4", "int3"]', "must be one of"), ('["int8", "int8"]', "without repeats"),
                         ("[]", "must be one of"), ("[4]", "a string or a list of strings")):  # fmt: skip
        path = tmp_path / "bad.toml"
        path.write_text(f"[convert]\nt2s_weight_format = {bad}\n")
        with pytest.raises(GsvEdgeError, match=problem):
            load_profile(path)
