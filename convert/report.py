"""The accuracy report every conversion writes: exported graphs vs the torch reference, and each shipped
precision vs fp32.

Measures:
- t2s: teacher-forced top-1 agreement and mean cosine of the logits over a prefill plus decode steps, and
  the largest absolute logit difference;
- sovits: SNR of the audio in dB;
- ref_enc and bert: the largest absolute difference; sv and shipped bert: cosine; hubert: prompt-code agreement.

Every fp32 graph must pass its entry in ``THRESHOLDS`` against the reference, or the conversion stops; the
shipped precisions are measured and reported, not judged. Each check in report.json names the threshold it was
judged by (null for a measurement).
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Threshold:
    """What one metric must reach for a check to pass."""

    metric: str
    """The metric it reads (a key of ``Check.metrics``)."""
    op: str
    """``<=`` (an error that must stay small) or ``>=`` (a score that must stay high)."""
    value: float
    """The limit."""

    def holds(self, metrics: dict[str, float]) -> bool:
        return bool(_OPS[self.op](metrics[self.metric], self.value))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


_OPS = {"<=": operator.le, ">=": operator.ge}

# What each fp32 graph must reach against the torch reference. These are float-rounding limits: an export that
# misses one computes something else than the reference, and the conversion writes nothing.
THRESHOLDS: dict[str, Threshold] = {
    # teacher-forced logits over prefill + decode steps: fp32 rounding stays orders of magnitude below this
    "t2s": Threshold("max_abs", "<=", 1e-3),
    # whole-utterance audio through encoder + decoder: a real export mistake drops far below 60 dB
    "sovits": Threshold("snr_db", ">=", 60.0),
    # the speaker vector is a plain conv stack over the spectrogram: same rounding limit as the GPT's logits
    "ref_enc": Threshold("max_abs", "<=", 1e-3),
    # argmax codes: a code whose two best distances tie within rounding may flip, so not every code must agree
    "hubert": Threshold("codes_agreement", ">=", 0.98),
    # the embedding is read by direction (cosine), so its direction must match to within float rounding
    "sv": Threshold("cosine", ">=", 0.9999),
    # hidden states of the trimmed BERT on real sentences: same rounding limit as the GPT's logits
    "bert": Threshold("max_abs", "<=", 1e-3),
}


@dataclass
class Check:
    """One comparison in the report."""

    graph: str
    """t2s, sovits, sovits_enc, ref_enc, hubert, sv, bert, g2pw."""
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
    threshold: str | None = None
    """The threshold it was judged by (``"max_abs <= 0.001"``), or None for a measurement that is only reported."""


@dataclass
class Report:
    """Everything measured during one conversion."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the pack lacks or holds differently and why (e.g. no Japanese user dictionary), one line each."""
    choices: list = field(default_factory=list)
    """The quality gate's decisions (``gsv_edge.convert.gate.Choice``), one per gated graph and backend."""

    def add(self, check: Check) -> Check:
        check.passed = bool(check.passed)
        check.metrics = {name: float(value) for name, value in check.metrics.items()}
        self.checks.append(check)
        return check

    def verify(
        self,
        where: tuple[str, str, str, str],
        metrics: dict[str, float],
        threshold: Threshold | None = None,
    ) -> Check:
        """Record ``metrics`` for ``where`` (graph, backend, precision, against), passed or failed by
        ``threshold``; without one it is a measurement that never fails the conversion."""
        passed = threshold is None or threshold.holds(metrics)
        return self.add(Check(*where, metrics, passed, None if threshold is None else str(threshold)))

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict:
        """Plain JSON: an infinite SNR (bit-identical audio) is written as null."""
        checks = [asdict(check) for check in self.checks]
        for check in checks:
            check["metrics"] = {k: (v if np.isfinite(v) else None) for k, v in check["metrics"].items()}
        choices = [{**asdict(choice), "passed": choice.passed} for choice in self.choices]
        for choice in choices:
            for candidate in choice["candidates"]:
                candidate["metrics"] = {k: (v if np.isfinite(v) else None) for k, v in candidate["metrics"].items()}
        return {"ok": self.ok, "checks": checks, "choices": choices, "notes": list(self.notes)}

    def rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """Rows for a printed table that fits 80 columns: graph, backend, precision, against, the check's main
        numbers (report.json has them all), and a mark: ✓ met its threshold, ✗ missed it, · measured only."""
        return [
            (
                c.graph,
                c.backend,
                c.precision.replace(" (device default)", " (auto)"),
                c.against,
                summary(c.metrics),
                "✗" if not c.passed else "✓" if c.threshold else "·",
            )
            for c in self.checks
        ]


# How the table shows each metric, in this order: a label and a formatter.
_SUMMARY = {
    "snr_db": lambda v: f"SNR {v:.1f} dB",
    "top1_agreement": lambda v: f"top1 {_percent(v)}",
    "codes_agreement": lambda v: f"codes {_percent(v)}",
    "readings_agreement": lambda v: f"readings {_percent(v)}",
    "cosine": lambda v: f"cos {_floor(v, 4)}",
    "max_abs": lambda v: f"max|Δ| {v:.1g}" if v < 0.01 else f"max|Δ| {v:.2f}",
}


def summary(metrics: dict[str, float]) -> str:
    """The numbers a reader checks first, short: ``"max|Δ| 3e-06 top1 100%"``, ``"SNR 43.1 dB"``."""
    return " ".join(show(metrics[name]) for name, show in _SUMMARY.items() if name in metrics)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%" if value in (0.0, 1.0) else f"{_floor(100 * value, 1)}%"


def _floor(value: float, digits: int) -> str:
    """Rounded down, so a score just below its threshold never prints as meeting it."""
    if not np.isfinite(value):
        return str(value)
    return f"{math.floor(value * 10**digits) / 10**digits:.{digits}f}"


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
