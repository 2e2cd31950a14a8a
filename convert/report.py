"""The accuracy report every conversion writes: exported graphs vs the torch reference, and each shipped
precision vs fp32.

Measures:
- t2s: teacher-forced top-1 agreement and mean cosine of the logits over a prefill plus decode steps, and
  the largest absolute logit difference (fp32 IR vs reference must stay within ``T2S_FP32_TOLERANCE``);
- sovits: SNR of the audio in dB (fp32 IR vs reference must reach ``SOVITS_FP32_MIN_SNR_DB``);
- bert: cosine of the features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

# fp32 graphs must reproduce the reference; anything worse means the export is wrong, and conversion stops.
T2S_FP32_TOLERANCE = 1e-3
SOVITS_FP32_MIN_SNR_DB = 60.0


@dataclass
class Check:
    """One comparison in the report."""

    graph: str
    """t2s, sovits, bert, hubert, ref_enc."""
    backend: str
    """openvino or onnxruntime."""
    precision: str
    """The precision measured."""
    against: str
    """What it is compared with: reference (torch) or fp32 (the fp32 graph)."""
    metrics: dict[str, float]
    """Named numbers: top1_agreement, logit_cosine, max_abs, snr_db, cosine, codes_equal..."""
    passed: bool = True
    """False when a required threshold was missed."""


@dataclass
class Report:
    """Everything measured during one conversion."""

    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> Check:
        check.passed = bool(check.passed)
        check.metrics = {name: float(value) for name, value in check.metrics.items()}
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict:
        """Plain JSON: an infinite SNR (bit-identical audio) is written as null."""
        checks = [asdict(check) for check in self.checks]
        for check in checks:
            check["metrics"] = {k: (v if np.isfinite(v) else None) for k, v in check["metrics"].items()}
        return {"ok": self.ok, "checks": checks}

    def rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """Rows for a printed table: graph, backend, precision, against, metrics, verdict."""
        return [
            (
                c.graph,
                c.backend,
                c.precision,
                c.against,
                ", ".join(f"{k} {_fmt(v)}" for k, v in c.metrics.items()),
                "ok" if c.passed else "FAILED",
            )
            for c in self.checks
        ]


def _fmt(value: float) -> str:
    if isinstance(value, bool):
        return str(value)
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:g}"
    if abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4f}"


def logit_metrics(candidate: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """Rows of logits [steps, vocab]: top-1 agreement, mean cosine, max abs difference."""
    candidate, baseline = np.asarray(candidate, np.float64), np.asarray(baseline, np.float64)
    agreement = float(np.mean(candidate.argmax(-1) == baseline.argmax(-1)))
    cosine = np.sum(candidate * baseline, -1) / (np.linalg.norm(candidate, axis=-1) * np.linalg.norm(baseline, axis=-1))
    return {
        "top1_agreement": agreement,
        "logit_cosine": float(np.mean(cosine)),
        "max_abs": float(np.max(np.abs(candidate - baseline))),
    }


def snr_db(candidate: np.ndarray, reference: np.ndarray) -> float:
    """Signal-to-noise ratio of ``candidate`` against ``reference`` in dB (inf when identical)."""
    reference = np.asarray(reference, np.float64)
    error = np.asarray(candidate, np.float64) - reference
    noise = float(np.sum(error**2))
    if noise == 0:
        return float("inf")
    return 10.0 * np.log10(float(np.sum(reference**2)) / noise)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
