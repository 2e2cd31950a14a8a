"""Inference backends behind one small interface: OpenVINO (default) and ONNX Runtime (fallback).

``open_backend`` picks one for a pack and says why; nothing above this module knows which is in use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gsv_edge.runtime.cache import cache_folder
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import Manifest
from gsv_edge.runtime.settings import BACKENDS, RuntimeSettings


@dataclass
class Backend:
    """A compiled-model factory for one engine, configured from the runtime settings."""

    name: str
    """openvino or onnxruntime."""
    reason: str
    """Why this backend was chosen (shown by --verbose and doctor)."""
    precision: str
    """Inference precision it runs at (a hint for OpenVINO, fp32 for ONNX Runtime on CPU)."""
    _engine: Any = None
    _config: Any = None

    @property
    def compiled_cache(self) -> str | None:
        """OpenVINO's folder of compiled graphs for this pack, or None (ONNX Runtime, or caching off)."""
        return self._config.get("CACHE_DIR") if self.name == "openvino" else None

    def load(self, path: Path, threads: int = 0):
        """Compile one graph; ``threads`` > 0 overrides the settings' thread count for this graph alone."""
        if self.name == "openvino":
            config = dict(self._config, INFERENCE_NUM_THREADS=threads) if threads > 0 else self._config
            return self._engine.compile_model(str(path), "CPU", config)
        import onnxruntime as ort

        options = self._config
        if threads > 0:
            options = _ort_options(ort, threads)
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def session(self, kind: str, compiled):
        """Wrap a compiled graph in the session class for its role (t2s, sovits_enc, sovits_dec)."""
        if self.name == "openvino":
            from gsv_edge.runtime.backends import openvino_backend as impl

            classes = {"t2s": impl.OpenVINOT2S, "sovits_enc": impl.OpenVINOSoVITSEncoder,
                       "sovits_dec": impl.OpenVINOSoVITSDecoder}  # fmt: skip
        else:
            from gsv_edge.runtime.backends import onnxruntime_backend as impl

            classes = {"t2s": impl.OnnxT2S, "sovits_enc": impl.OnnxSoVITSEncoder, "sovits_dec": impl.OnnxSoVITSDecoder}
        return classes[kind](compiled) if kind in classes else compiled

    def run(self, compiled, feed: dict) -> dict:
        """One call of a plain (stateless) graph: named inputs → named outputs (every name a port carries)."""
        if self.name == "openvino":
            result = compiled(feed)
            return {name: result[port] for port in compiled.outputs for name in port.get_names()}
        names = [output.name for output in compiled.get_outputs()]
        return dict(zip(names, compiled.run(names, feed), strict=True))


def _openvino(runtime: RuntimeSettings, manifest: Manifest, cache_dir: Path | None) -> Backend:
    import openvino as ov

    core = ov.Core()
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}
    if runtime.threads > 0:
        config["INFERENCE_NUM_THREADS"] = runtime.threads
    precision = runtime.inference_precision
    if precision != "auto":
        config["INFERENCE_PRECISION_HINT"] = precision
    folder = cache_dir if cache_dir is not None else compiled_cache_folder(core, manifest, config)
    if folder is not None:
        config["CACHE_DIR"] = str(folder)
    return Backend("openvino", "", precision, core, config)


COMPILED_CACHE_DAYS = 30
"""A compiled-graph folder not used for this long is removed when another one is made."""


def compiled_cache_folder(core, manifest: Manifest, config: dict) -> Path | None:
    """Where OpenVINO keeps this pack's compiled graphs between runs (compiling them costs most of a start; a
    compiled blob loads in a fraction of it), or None when caching is off (GSV_EDGE_COMPILE_CACHE=0) or the
    folder cannot be made. The folder is named by what a blob depends on: the pack's files (their hashes), the
    OpenVINO version, the CPU and the compile settings, so a changed pack, runtime or machine compiles afresh."""
    if os.environ.get("GSV_EDGE_COMPILE_CACHE", "1") == "0":
        return None
    import openvino as ov

    machine = [ov.__version__, core.get_property("CPU", "FULL_DEVICE_NAME"), platform.machine(), _cpu_flags()]
    settings = sorted((key, str(value)) for key, value in config.items())
    identity = [*machine, sorted(manifest.sha256.items()), settings]
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]
    folder = cache_folder("compiled", key)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # in use: kept by the pruning below
    except OSError:
        return None
    _prune_unused(folder)
    return folder


def _cpu_flags() -> str:
    """The CPU's feature flags (a blob compiled for AVX-512 must not load where there is none), hashed."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return hashlib.sha256(line.encode()).hexdigest()[:16]
    return platform.processor()


def _prune_unused(keep: Path) -> None:
    cutoff = time.time() - COMPILED_CACHE_DAYS * 86400
    for other in keep.parent.iterdir():
        with contextlib.suppress(OSError):
            if other != keep and other.is_dir() and other.stat().st_mtime < cutoff:
                shutil.rmtree(other)


def _onnxruntime(runtime: RuntimeSettings) -> Backend:
    import onnxruntime as ort

    return Backend("onnxruntime", "", "fp32", ort, _ort_options(ort, runtime.threads))


def _ort_options(ort, threads: int):
    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    # No memory arena: it keeps the largest buffers ever requested, for good (docs/performance.md: less memory,
    # no slower).
    options.enable_cpu_mem_arena = False
    # ONNX Runtime's worker threads spin after each call by default, on cores OpenVINO's decoder needs next
    # (the GPT and the encoder hand over to it every chunk). Stopping the spin when a call returns: first audio
    # 344-354 -> 305-318 ms on 2 cores (the decoder's first window 150 -> 123 ms), GPT steps unchanged.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


def open_backend(
    manifest: Manifest, runtime: RuntimeSettings, requested: str | None = None, cache_dir: Path | None = None
) -> Backend:
    """The settings' main backend, or ``requested``; ONNX Runtime when OpenVINO is missing or the pack has no IR
    for it."""
    if requested is not None and requested not in BACKENDS:
        raise GsvEdgeError(f"unknown backend {requested!r}; choose openvino or onnxruntime", option="backend")
    wanted = requested or runtime.backend
    has = {name: manifest.graph("t2s", name) is not None for name in BACKENDS}
    if wanted == "openvino":
        if not has["openvino"]:
            reason = "the pack has no OpenVINO IR"
        else:
            try:
                backend = _openvino(runtime, manifest, cache_dir)
                backend.reason = "requested" if requested else "default"
                return backend
            except ImportError:
                reason = "openvino is not installed"
        if not has["onnxruntime"]:
            raise GsvEdgeError(f"cannot run this pack: {reason} and it has no ONNX files; convert it with onnx = true")
        backend = _onnxruntime(runtime)
        backend.reason = f"fallback: {reason}"
        return backend
    if not has["onnxruntime"]:
        raise GsvEdgeError("this pack has no ONNX files; convert it with a profile that has onnx = true")
    try:
        backend = _onnxruntime(runtime)
    except ImportError:
        raise GsvEdgeError(
            "onnxruntime is not installed; pip install onnxruntime, or run on openvino", option="backend"
        ) from None
    backend.reason = "requested" if requested else "settings"
    return backend
