"""Key coverage: which tensors a checkpoint lacks, and which it has that the model does not use.

The expected names come from the reference modules themselves, built on torch's "meta" device (shapes only, no
memory), so coverage follows the checkpoint's own config: a tiny model and a full-size one are both judged
against the model their config describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gsv_edge.convert.checkpoint import GptCheckpoint, SovitsCheckpoint


@dataclass
class KeyCoverage:
    """Tensor names compared with what the reference model needs."""

    expected: int  # tensors the model needs
    missing: list[str] = field(default_factory=list)  # needed but absent
    unexpected: list[str] = field(default_factory=list)  # present but unknown to the model
    wrong_shape: list[str] = field(default_factory=list)  # "name: file [..] vs model [..]"
    ignored: list[str] = field(default_factory=list)  # present, known to be training-only (enc_q.*)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_shape)

    def summary(self) -> str:
        if self.complete:
            text = f"complete ({self.expected} tensors)"
        else:
            parts = [f"{len(self.missing)} missing", f"{len(self.unexpected)} unexpected"]
            if self.wrong_shape:
                parts.append(f"{len(self.wrong_shape)} of the wrong shape")
            text = f"INCOMPLETE: {', '.join(parts)} of {self.expected} expected"
        if self.ignored:
            text += f"; {len(self.ignored)} training-only tensors ignored"
        return text


def expected_shapes(ckpt: GptCheckpoint | SovitsCheckpoint) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor the reference model for this checkpoint's config holds."""
    import torch

    from gsv_edge.convert.reference import build_gpt, build_sovits

    with torch.device("meta"):
        if isinstance(ckpt, GptCheckpoint):
            module = build_gpt(ckpt.model_config)
        else:
            module = build_sovits(ckpt.model_config, ckpt.version)
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def key_coverage(ckpt: GptCheckpoint | SovitsCheckpoint) -> KeyCoverage:
    """Compare a loaded checkpoint's tensors with the reference model its config describes."""
    expected = expected_shapes(ckpt)
    found = ckpt.state_dict
    coverage = KeyCoverage(expected=len(expected))
    coverage.missing = sorted(set(expected) - set(found))
    coverage.unexpected = sorted(set(found) - set(expected))
    coverage.wrong_shape = sorted(
        f"{name}: file {list(found[name].shape)} vs model {list(expected[name])}"
        for name in set(expected) & set(found)
        if tuple(found[name].shape) != expected[name]
    )
    if isinstance(ckpt, SovitsCheckpoint):
        coverage.ignored = list(ckpt.dropped_keys)
    return coverage
