"""The quality gate: of the weight formats a profile lists for a graph, in order of preference, keep the first
(the most compressed) that stays close enough to fp32 on the user's own weights.

Whether an INT4 GPT or an INT8 vocoder is acceptable depends on the weights, and only the user has them: the same
format that is harmless on one fine-tune can wreck another (a few outlier weights in a quantization group round
the rest of the group to zero). So ``convert`` builds each listed format in turn, measures it against the fp32
graph with the measurements the accuracy report makes anyway (``gsv_edge.convert.report``), and stops at the first
that passes the profile's thresholds (``ConvertSettings.t2s_min_top1``, ``t2s_min_cosine``, ``sovits_min_snr_db``).
When none passes, the last listed is kept and the report says so: a profile puts its safe choice last.

A format forced on the command line (``--weight-format``, ``--sovits-format``) is the only candidate: it is
measured and its gate result recorded, but it is kept whatever the result.

Every candidate's figures and the choice go into ``report.json`` (``choices``) and ``MODEL_CARD.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gsv_edge.convert.report import Report, Threshold
from gsv_edge.runtime.profile import ConvertSettings

Made = TypeVar("Made")


@dataclass
class Candidate:
    """One format that was built and measured."""

    format: str
    """The weight format (int4, int8, fp16, fp32)."""
    metrics: dict[str, float]
    """Its figures against fp32 (the report's names: top1_agreement, logit_cosine, snr_db, ...)."""
    passed: bool
    """Whether it met every threshold of the gate."""


@dataclass
class Choice:
    """The gate's decision for one graph on one backend."""

    graph: str
    """t2s or sovits."""
    backend: str
    """openvino or onnxruntime."""
    chosen: str
    """The format kept in the pack."""
    gate: list[str]
    """The thresholds, as ``"top1_agreement >= 0.9"``."""
    candidates: list[Candidate] = field(default_factory=list)
    """Every format built, in the order tried (those after the chosen one were not built)."""
    forced: bool = False
    """True when the format came from the command line rather than the profile's list."""

    @property
    def passed(self) -> bool:
        return next(c.passed for c in self.candidates if c.format == self.chosen)


def t2s_gate(settings: ConvertSettings) -> list[Threshold]:
    return [
        Threshold("top1_agreement", ">=", settings.t2s_min_top1),
        Threshold("logit_cosine", ">=", settings.t2s_min_cosine),
    ]


def sovits_gate(settings: ConvertSettings) -> list[Threshold]:
    return [Threshold("snr_db", ">=", settings.sovits_min_snr_db)]


def choose(
    where: tuple[str, str],
    formats: tuple[str, ...],
    gate: list[Threshold],
    build: Callable[[str], tuple[Made, dict[str, float]]],
    discard: Callable[[Made], None],
    report: Report,
    forced: bool = False,
) -> tuple[str, Made]:
    """Build and measure ``formats`` in order (``build(format)`` → (what it made, its metrics against fp32)),
    keep the first that passes ``gate`` or else the last, ``discard`` the ones not kept; the choice is recorded
    in ``report.choices``. Returns the kept format and what ``build`` made for it."""
    choice = Choice(*where, chosen="", gate=[str(t) for t in gate], forced=forced)
    report.choices.append(choice)
    for index, fmt in enumerate(formats):
        made, metrics = build(fmt)
        passed = all(threshold.holds(metrics) for threshold in gate)
        choice.candidates.append(Candidate(fmt, {k: float(v) for k, v in metrics.items()}, passed))
        if passed or index == len(formats) - 1:
            choice.chosen = fmt
            if not passed:
                unmet = ", ".join(str(t) for t in gate if not t.holds(metrics))
                why = "forced on the command line" if forced else "the profile lists nothing after it"
                report.notes.append(f"{where[0]} on {where[1]}: {fmt} kept although it misses the quality gate "
                                    f"({unmet}): {why}")  # fmt: skip
            return fmt, made
        discard(made)
    raise ValueError("no formats to choose from")
