"""Conversion-side benchmarks: how fast the exported t2s graph decodes, per variant, measured interleaved.

Times drift between runs on a shared machine, so every variant is timed in turn within each repetition and
the median is reported, with ratios against stateless fp32 (the cache going in and out of the graph each
step, as peers do).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsv_edge.convert.checkpoint import GptCheckpoint


@dataclass
class T2SResult:
    """One t2s variant's timings."""

    name: str
    prefill_ms: float
    ms_per_token: float
    ir_mb: float
    convert_s: float


class _StatelessSession:
    """Explicit cache in and out of an OpenVINO graph each step (the baseline)."""

    def __init__(self, compiled, n_cache: int, heads: int, head_dim: int):
        self._request = compiled.create_infer_request()
        self._names = [f"past_{kv}_{i}" for i in range(n_cache // 2) for kv in "kv"]
        self._empty = np.zeros((1, heads, 0, head_dim), np.float32)
        self.reset()

    def reset(self):
        self._cache = {name: self._empty for name in self._names}

    def run(self, rows, mask):
        result = self._request.infer({"x": rows, "mask": mask, **self._cache})
        self._cache = {name: result[name.replace("past_", "present_")] for name in self._names}
        return result["logits"][0]


def _ir_size_mb(model) -> float:
    import openvino as ov

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.xml"
        ov.save_model(model, path, compress_to_fp16=False)
        return (path.stat().st_size + path.with_suffix(".bin").stat().st_size) / 1e6


def bench_t2s(
    ckpt: GptCheckpoint,
    formats: tuple[str, ...] = ("int8", "int4"),
    prefill_rows: int = 150,
    steps: int = 100,
    repeats: int = 3,
    threads: int = 0,
    log=print,
) -> list[T2SResult]:
    """Time stateless fp32, stateful fp32 and stateful compressed variants of the t2s graph."""
    import openvino as ov

    from gsv_edge.convert.export.t2s import T2SGraph, to_openvino
    from gsv_edge.convert.quantize import compress_t2s

    graph = T2SGraph.from_checkpoint(ckpt)
    model_cfg = ckpt.model_config
    d_model, heads, layers = model_cfg["embedding_dim"], model_cfg["head"], model_cfg["n_layer"]
    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = str(threads)

    variants: dict[str, tuple[object, object, float]] = {}

    def add(name, make, precision_hint, session_factory):
        start = time.perf_counter()
        model = make()
        compiled = core.compile_model(model, "CPU", dict(config, INFERENCE_PRECISION_HINT=precision_hint))
        elapsed = time.perf_counter() - start
        variants[name] = (session_factory(compiled), model, elapsed)
        log(f"  prepared {name} in {elapsed:.1f} s")

    add("stateless fp32", lambda: to_openvino(graph, stateful=False), "f32",
        lambda c: _StatelessSession(c, 2 * layers, heads, d_model // heads))  # fmt: skip
    add("stateful fp32", lambda: to_openvino(graph), "f32", _session)
    for weight_format in formats:
        add(
            f"stateful {weight_format}", lambda wf=weight_format: compress_t2s(to_openvino(graph), wf), "bf16", _session
        )

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((1, prefill_rows, d_model)).astype(np.float32)
    token_row = rng.standard_normal((1, 1, d_model)).astype(np.float32)
    prefill: dict[str, list[float]] = {name: [] for name in variants}
    decode: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, (session, _, _) in variants.items():
            session.reset()
            start = time.perf_counter()
            session.run(rows, np.zeros((1, 1, prefill_rows, prefill_rows), np.float32))
            prefill[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            for step in range(steps):
                session.run(token_row, np.zeros((1, 1, 1, prefill_rows + step + 1), np.float32))
            decode[name].append((time.perf_counter() - start) / steps)
    return [
        T2SResult(
            name,
            1000 * statistics.median(prefill[name]),
            1000 * statistics.median(decode[name]),
            _ir_size_mb(model),
            convert_s,
        )
        for name, (_, model, convert_s) in variants.items()
    ]


def _session(compiled):
    from gsv_edge.runtime.backends.openvino_backend import OpenVINOT2S

    return OpenVINOT2S(compiled)
