"""`gsv-edge inspect`: what a checkpoint is, how big, whether its keys are complete, whether a pair fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsv_edge.convert.checkpoint import CheckpointError, GptCheckpoint, SovitsCheckpoint, load_any
from gsv_edge.convert.coverage import KeyCoverage, key_coverage
from gsv_edge.convert.versions import check_pair


@dataclass
class FileReport:
    """What `inspect` found in one file."""

    path: Path
    kind: str  # "gpt" or "sovits"
    version: str
    evidence: str
    dims: dict[str, Any]
    n_params: int
    coverage: KeyCoverage
    sha256: str
    info: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "version": self.version,
            "evidence": self.evidence,
            "dims": self.dims,
            "n_params": self.n_params,
            "missing_keys": self.coverage.missing,
            "unexpected_keys": self.coverage.unexpected,
            "ignored_keys": self.coverage.ignored,
            "sha256": self.sha256,
            "info": self.info,
        }


@dataclass
class InspectReport:
    """All files inspected, and the pairing verdict when a GPT and a SoVITS were given."""

    files: list[FileReport] = field(default_factory=list)
    pair: str | None = None  # "ok" or the reason they do not belong together
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "pair": self.pair, "ok": self.ok}

    def to_text(self) -> str:
        lines: list[str] = []
        for f in self.files:
            lines.append(f"{f.path}")
            kind = {"gpt": "GPT", "sovits": "SoVITS"}[f.kind]
            lines.append(f"  kind       {kind} ({f.info})" if f.info else f"  kind       {kind}")
            lines.append(f"  version    {f.version}  [{f.evidence}]")
            lines.append("  dims       " + ", ".join(f"{k} {v}" for k, v in f.dims.items()))
            lines.append(f"  params     {f.n_params:,} ({f.n_params / 1e6:.1f} M)")
            lines.append(f"  keys       {f.coverage.summary()}")
            for name in f.coverage.missing[:10]:
                lines.append(f"    missing     {name}")
            for name in f.coverage.unexpected[:10]:
                lines.append(f"    unexpected  {name}")
            lines.append(f"  sha256     {f.sha256[:16]}…")
        if self.pair is not None:
            lines.append(f"pair         {'GPT and SoVITS belong together' if self.pair == 'ok' else self.pair}")
        return "\n".join(lines)


def _gpt_dims(ckpt: GptCheckpoint) -> dict[str, Any]:
    model = ckpt.model_config
    return {
        "layers": model["n_layer"],
        "d_model": model["embedding_dim"],
        "heads": model["head"],
        "phone_vocab": ckpt.phone_vocab,
        "token_vocab": model["vocab_size"],
        "top_k": ckpt.top_k,
    }


def _sovits_dims(ckpt: SovitsCheckpoint) -> dict[str, Any]:
    model = ckpt.model_config
    sd = ckpt.state_dict
    return {
        "symbols": int(sd["enc_p.text_embedding.weight"].shape[0]),
        "gin": int(sd["dec.cond.weight"].shape[1]) if "dec.cond.weight" in sd else model.get("gin_channels"),
        "generator_channels": int(sd["dec.conv_pre.weight"].shape[0]),
        "upsample_rates": model.get("upsample_rates"),
        "filter_channels": model.get("filter_channels"),
        "sample_rate": ckpt.config.get("data", {}).get("sampling_rate", 32000),
    }


def inspect_files(paths: list[Path]) -> InspectReport:
    """Inspect each file; raise CheckpointError for a file that cannot be read at all."""
    report = InspectReport()
    gpts: list[GptCheckpoint] = []
    sovitses: list[SovitsCheckpoint] = []
    for path in paths:
        ckpt = load_any(path)
        coverage = key_coverage(ckpt)
        if isinstance(ckpt, GptCheckpoint):
            gpts.append(ckpt)
            fr = FileReport(
                path, "gpt", ckpt.symbol_version, f"{ckpt.phone_vocab}-row phone embedding",
                _gpt_dims(ckpt), ckpt.n_params(), coverage, ckpt.sha256, ckpt.info,
            )  # fmt: skip
        else:
            sovitses.append(ckpt)
            fr = FileReport(
                path, "sovits", ckpt.version, ckpt.evidence,
                _sovits_dims(ckpt), ckpt.n_params(), coverage, ckpt.sha256, ckpt.info,
            )  # fmt: skip
        report.files.append(fr)
        if not coverage.complete:
            report.ok = False
    if len(gpts) == 1 and len(sovitses) == 1:
        try:
            check_pair(gpts[0], sovitses[0])
            report.pair = "ok"
        except CheckpointError as err:
            report.pair = str(err)
            report.ok = False
    return report
