"""`gsv-edge doctor`: what this machine offers gsv-edge, and what a pack would run with here."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from gsv_edge.runtime.audio_out import PROBE_RATES


@dataclass
class Finding:
    """One line of the report."""

    topic: str
    status: str  # "ok", "missing" or "info"
    detail: str


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)

    def add(self, topic: str, status: str, detail: str) -> None:
        self.findings.append(Finding(topic, status, detail))

    def to_dict(self) -> dict:
        return {"findings": [f.__dict__ for f in self.findings]}

    def to_text(self) -> str:
        marks = {"ok": "ok     ", "missing": "MISSING", "info": "       "}
        return "\n".join(f"{marks[f.status]} {f.topic:18s} {f.detail}" for f in self.findings)


def diagnose(pack: Path | None = None, backend: str | None = None, profile: str | None = None) -> Diagnosis:
    """Backends, CPU precisions and sound output; with ``pack``, what it would run with here."""
    report = Diagnosis()
    report.add("machine", "info", f"{platform.machine()}, {platform.system()} {platform.release()}, Python "
               f"{platform.python_version()}")  # fmt: skip
    _openvino(report)
    _onnxruntime(report)
    _sound(report)
    if pack is not None:
        _pack(report, pack, backend, profile)
    return report


def _openvino(report: Diagnosis) -> None:
    try:
        import openvino as ov
    except ImportError:
        report.add("openvino", "missing", "not installed (pip install openvino); ONNX Runtime will be used")
        return
    core = ov.Core()
    report.add("openvino", "ok", f"{ov.__version__.split('-')[0]}, devices: {', '.join(core.available_devices)}")
    try:
        capabilities = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        hint = core.get_property("CPU", "INFERENCE_PRECISION_HINT")
        default = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        report.add("cpu precisions", "info", f"{', '.join(capabilities)}; default compute {default}")
    except RuntimeError as err:
        report.add("cpu precisions", "info", f"unknown ({err})")


def _onnxruntime(report: Diagnosis) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        report.add("onnxruntime", "missing", "not installed (pip install onnxruntime); no fallback backend")
        return
    report.add("onnxruntime", "ok", f"{ort.__version__}, providers: {', '.join(ort.get_available_providers())}")


def _sound(report: Diagnosis) -> None:
    """Every output device with the rates it accepts (for `say --audio-device NAME|INDEX`), the default marked."""
    from gsv_edge.runtime.audio_out import output_devices
    from gsv_edge.runtime.errors import GsvEdgeError

    try:
        devices = output_devices()
    except GsvEdgeError:
        report.add("sound output", "missing", "PortAudio is not installed (sudo apt-get install libportaudio2); "
                   "use -o out.wav or --output-raw")  # fmt: skip
        return
    if not devices:
        report.add("sound output", "missing", "no output device; use -o out.wav or --output-raw")
        return
    default = next((d for d in devices if d.is_default), None)
    if default is None:
        report.add("sound output", "missing", "no default output device; pick one with say --audio-device")
    else:
        rates = "32 kHz ok" if 32000 in default.rates else "32 kHz refused: audio will be resampled"
        report.add("sound output", "ok", f"{default.name} ({rates})")
    for device in devices:
        rates = " ".join(str(rate) for rate in device.rates) or "none of " + " ".join(map(str, PROBE_RATES))
        mark = ", default" if device.is_default else ""
        report.add(f"  audio device {device.index}", "info",
                   f"{device.name} ({device.host_api}{mark}): rates {rates} Hz")  # fmt: skip


def _pack(report: Diagnosis, pack: Path, backend: str | None, profile: str | None = None) -> None:
    from gsv_edge.runtime.engine import Engine
    from gsv_edge.runtime.errors import GsvEdgeError
    from gsv_edge.runtime.pack import read_manifest
    from gsv_edge.runtime.profile import load_profile

    try:
        read_manifest(pack, full=True)  # every file hashed, even those an earlier run found unchanged
        settings = load_profile(profile).settings if profile else None
        engine = Engine.open(pack, settings, backend)
    except GsvEdgeError as err:
        report.add("pack", "missing", str(err))
        return
    manifest = engine.manifest
    report.add("pack", "ok", f"{pack}: GPT-SoVITS {manifest.model_version}, made for profile {manifest.profile}, "
               f"fingerprint {manifest.fingerprint}")  # fmt: skip
    source = f"profile {profile}" if profile else "the pack's own"
    report.add("settings", "info", f"{source}: {_settings_line(engine.settings)}")
    main = engine.backend
    report.add("backend", "info", f"{main.name} ({main.reason}), compute {main.precision}")
    _effective_precision(report, engine)
    for label, graph in (("t2s backend", "t2s"), ("sovits_enc backend", "sovits_enc")):
        chosen = engine.backend_for(graph)
        if chosen is not main:
            report.add(label, "info", f"{chosen.name} ({chosen.reason})")
    for name in ("t2s", "sovits_enc", "sovits_dec", "hubert", "ref_enc", "bert"):
        if not engine.has_graph(name):
            fix = {"hubert": " (voice add needs it: convert with --hubert)", "bert": " (zh BERT: convert with --bert)"}
            report.add(f"  {name}", "info", "not in the pack" + fix.get(name, ""))
        else:
            graph = engine.graph_file(name)
            report.add(f"  {name}", "ok", f"{graph.precision}, {', '.join(graph.files)}")
    if manifest.symbols != "v1":
        g2pw = manifest.tables.get("g2pw")
        if g2pw is None:
            report.add("  g2pw", "info", "not in the pack (zh polyphones read by pypinyin: convert with --g2pw)")
        else:
            report.add("  g2pw", "ok", f"onnxruntime int8, {g2pw}/ (zh polyphones)")


def _effective_precision(report: Diagnosis, engine) -> None:
    """OpenVINO takes a precision hint the CPU lacks without a word and computes in another one (measured: f16 and
    bf16 run as f32 on a Cortex-A72, bf16 as f16 on a Cortex-A76, f16 as bf16 on a Zen 4): say what it does."""
    asked = engine.settings.runtime.inference_precision
    if asked == "auto" or engine.backend_for("sovits_dec").name != "openvino":
        return
    hint = engine.compiled("sovits_dec").get_property("INFERENCE_PRECISION_HINT")
    effective = hint.to_string() if hasattr(hint, "to_string") else str(hint)
    if effective != asked:
        report.add("compute", "info", f"OpenVINO computes the vocoder in {effective} here: this CPU has no "
                   f"{asked} arithmetic (the settings ask {asked})")  # fmt: skip


def _settings_line(settings) -> str:
    runtime, streaming = settings.runtime, settings.streaming
    threads = runtime.threads or "all cores"
    return (
        f"threads {threads}, precision {runtime.inference_precision}; first chunk {streaming.first_chunk_tokens} "
        f"tokens, chunks up to {streaming.chunk_tokens}, decoder windows {list(streaming.decoder_windows)}"
    )
