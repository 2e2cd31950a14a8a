"""The ARM64 parity check: the runtime on aarch64 (under qemu user-mode emulation) against x86-64.

Three steps, one subcommand each; ``scripts/check_arm64.sh`` runs them in order:

    prepare WORK       x86-64, the dev venv (torch): converts the tiny v2 conformance model three times, into
                       WORK/packs/{fp32,rpi4,rpi5}, writes a reference clip and enrolls one voice in each pack, so
                       that both machines measure the very same packs and voice
    measure WORK OUT   either machine, the runtime alone (no torch): for every pack and backend, speaks a sentence
                       greedily, scores fixed tokens teacher-forced, vocodes fixed tokens with fixed noise and
                       enrolls the clip again; one OUT/<pack>-<backend>.npz each (WORK/x86_64 on the host,
                       WORK/aarch64-<cpu> for each emulated CPU: cortex-a72 runs fp32 and rpi4, cortex-a76 fp32
                       and rpi5)
    compare WORK       x86-64: judges every WORK/aarch64-<cpu> against WORK/x86_64 and prints the summary; exit 1
                       on a miss

What is judged (THRESHOLDS are convert's own, convert/report.py):
- the fp32 pack, each backend: speech tokens identical to x86-64, speech and vocoded audio at least
  THRESHOLDS["sovits"] (60 dB SNR), teacher-forced logits within THRESHOLDS["t2s"], the re-enrolled voice's
  prompt codes within THRESHOLDS["hubert"] and its speaker vector within THRESHOLDS["ref_enc"];
- the rpi4 and rpi5 packs, with their own precisions (weights and inference hint), each backend: the same
  shipped-precision-against-fp32 measurements that convert wrote into the pack's report.json (the same check
  inputs: the seeds and sizes of convert/passes/t2s.py and sovits.py), now taken on aarch64 against x86-64's
  fp32; each must reach the figure convert reported, less PROFILE_MARGIN.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

PACKS = ("fp32", "rpi4", "rpi5")
BACKENDS = ("openvino", "onnxruntime")
SENTENCE = "你好，世界。今天天气很好！"
TRANSCRIPT = "今天天气很好。"
VOICE = "check"
# Every segment is spoken to exactly this many tokens (EOS banned): a random tiny GPT rarely stops by itself, and a
# bounded count keeps the emulated run short.
SPEECH_TOKENS = 32
# Threads per graph on both machines: the CI machine has 2 cores, and qemu runs each guest thread on a host one.
THREADS = 2

# convert's check inputs (convert/passes/common.py, t2s.py and sovits.py): the same seeds and sizes, so the figures
# measured here are the ones report.json holds.
CHECK_PHONES, CHECK_PROMPT, CHECK_STEPS, CHECK_TOKENS = 40, 50, 40, 60
BERT_DIM, LATENT_CHANNELS = 1024, 192

# How far below convert's reported figure a profile's measurement on aarch64 may fall: the thread count and the
# kernels differ, so the rounding differs, a little.
PROFILE_MARGIN = {"snr_db": 1.0, "top1_agreement": 0.05, "logit_cosine": 1e-3}

FP32_PROFILE = """\
name = "fp32"
description = "every graph in fp32, run at f32: the baseline the ARM64 parity check compares against"

[convert]
t2s_weight_format = "fp32"
sovits_weight_format = "fp32"
sovits_enc_onnx_format = "fp32"
bert_weight_format = "fp32"

[runtime]
inference_precision = "f32"
"""


# --- prepare (x86-64, dev venv) ----------------------------------------------------------------------------------


def prepare(work: Path, conformance: Path) -> None:
    import soundfile as sf

    from gsv_edge.convert.convert import ConvertOptions, convert
    from gsv_edge.convert.passes.common import synthetic_voice
    from gsv_edge.runtime.enroll import enroll_voice
    from gsv_edge.runtime.synthesizer import Synthesizer
    from gsv_edge.runtime.voices import save_voice

    model, hf = conformance / "v2-tiny", conformance / "hf"
    needed = (model / "gpt.ckpt", model / "sovits.pth", hf / "chinese-hubert-base-tiny", hf / "chinese-roberta-tiny")
    for path in needed:
        if not path.exists():
            sys.exit(f"error: {path} is missing; the check needs the conformance folder (GSV_CONFORMANCE)")
    work.mkdir(parents=True, exist_ok=True)
    (work / "fp32.toml").write_text(FP32_PROFILE)
    clip = work / "reference.wav"
    sf.write(clip, synthetic_voice(32000, 4.0, 5), 32000)
    for name in PACKS:
        pack = work / "packs" / name
        profile = str(work / "fp32.toml") if name == "fp32" else name
        started = time.perf_counter()
        convert(
            ConvertOptions(
                model / "gpt.ckpt", model / "sovits.pth", pack, profile=profile, force=True,
                hubert=hf / "chinese-hubert-base-tiny", bert=hf / "chinese-roberta-tiny",
            )
        )  # fmt: skip
        synth = Synthesizer.load(pack, settings=_settings(pack, "openvino"), backend="openvino")
        save_voice(enroll_voice(synth.engine, VOICE, clip, TRANSCRIPT, "zh", synth.front_end), pack / "voices")
        print(f"prepare: {name} pack converted and voice enrolled in {time.perf_counter() - started:.0f} s")


# --- measure (either machine, runtime only) ----------------------------------------------------------------------


def _settings(pack: Path, backend: str):
    """The pack's own settings on THREADS threads; the fp32 pack's hint is f32 already (FP32_PROFILE)."""
    from gsv_edge.runtime.pack import read_manifest

    settings = read_manifest(pack).settings
    runtime = dataclasses.replace(settings.runtime, threads=THREADS, vocoder_threads=0).only(backend)
    return dataclasses.replace(settings, runtime=runtime)


def check_inputs(n_symbols: int, gin: int) -> dict[str, np.ndarray]:
    """convert's inputs for the GPT check (t2s.py ``_check_inputs``) and for the SoVITS check (sovits.py)."""
    rng = np.random.default_rng(1234)
    bert = np.zeros((BERT_DIM, CHECK_PHONES), np.float32)
    bert[:, : CHECK_PHONES // 2] = rng.standard_normal((BERT_DIM, CHECK_PHONES // 2))
    t2s = {
        "phones": rng.integers(0, n_symbols, CHECK_PHONES),
        "bert": bert,
        "prompt": rng.integers(0, 1024, CHECK_PROMPT),
        "tokens": rng.integers(0, 1024, CHECK_STEPS),
    }
    rng = np.random.default_rng(4321)
    codes, phones = rng.integers(0, 1024, CHECK_TOKENS), rng.integers(0, n_symbols, CHECK_PHONES)
    ge = (0.3 * rng.standard_normal(gin)).astype(np.float32)
    noise = rng.standard_normal((LATENT_CHANNELS, 2 * CHECK_TOKENS)).astype(np.float32)
    return {**{f"t2s_{k}": v for k, v in t2s.items()}, "codes": codes, "sovits_phones": phones, "ge": ge,
            "noise": noise}  # fmt: skip


def measure_one(pack: Path, backend: str, clip: Path) -> dict[str, np.ndarray]:
    from gsv_edge.runtime.enroll import enroll_voice
    from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
    from gsv_edge.runtime.t2s import score_tokens
    from gsv_edge.runtime.vocoder import decode_whole

    synth = Synthesizer.load(pack, settings=_settings(pack, backend), backend=backend)
    engine = synth.engine
    inputs = check_inputs(len(engine.embeddings.phone_embedding), engine.decoder_gin())
    with engine.t2s_session() as t2s:
        logits = score_tokens(t2s, engine.embeddings, inputs["t2s_phones"], inputs["t2s_bert"],
                              inputs["t2s_prompt"], inputs["t2s_tokens"])  # fmt: skip
    vocoded = decode_whole(
        engine.session("sovits_enc"), engine.session("sovits_dec"), inputs["codes"], inputs["sovits_phones"],
        inputs["ge"], noise_scale=0.5, noise=inputs["noise"],
    )  # fmt: skip
    options = SpeechOptions(top_k=1, seed=0, fixed_length=lambda segment: SPEECH_TOKENS)
    with synth.open_stream(SENTENCE, synth.voice(VOICE), "zh", options) as speech:
        audio = speech.whole()
        tokens = speech.tokens
    again = enroll_voice(engine, VOICE, clip, TRANSCRIPT, "zh", synth.front_end)
    return {
        "logits": logits, "vocoded": vocoded, "speech_audio": audio.samples,
        "speech_tokens": np.concatenate([np.asarray(t, np.int64) for t in tokens]),
        "enroll_codes": again.prompt_tokens, "enroll_ge": again.ge,
    }  # fmt: skip


def measure(work: Path, out: Path, packs: list[str], backends: list[str]) -> int:
    """Measure every pack on every backend; a setup that fails is recorded with its one-line error (and the exit
    code says so), the others still run."""
    import onnxruntime
    import openvino

    from gsv_edge.runtime.errors import GsvEdgeError

    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in packs:
        for backend in backends:
            started = time.perf_counter()
            meta = {"machine": platform.machine(), "pack": name, "backend": backend,
                    "openvino": openvino.__version__, "onnxruntime": onnxruntime.__version__}  # fmt: skip
            try:
                arrays = measure_one(work / "packs" / name, backend, work / "reference.wav")
                np.savez(out / f"{name}-{backend}.npz", **arrays)
                meta["error"] = None
            except (GsvEdgeError, RuntimeError) as err:
                meta["error"] = (str(err).strip().splitlines() or [type(err).__name__])[0]
                failed += 1
            meta["seconds"] = round(time.perf_counter() - started, 1)
            (out / f"{name}-{backend}.json").write_text(json.dumps(meta, indent=1))
            state = "ok" if meta["error"] is None else f"FAILED: {meta['error']}"
            print(f"measure [{platform.machine()}] {name} {backend}: {meta['seconds']} s, {state}", flush=True)
    return 1 if failed else 0


# --- compare (x86-64) --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One judged comparison of the summary."""

    cpu: str
    pack: str
    backend: str
    what: str
    value: str
    limit: str
    passed: bool


def _load(folder: Path, pack: str, backend: str) -> tuple[dict | None, dict]:
    meta_path = folder / f"{pack}-{backend}.json"
    if not meta_path.exists():
        return None, {"error": f"no result in {folder} (the measure step did not reach it)"}
    meta = json.loads(meta_path.read_text())
    if meta.get("error"):
        return None, meta
    with np.load(folder / f"{pack}-{backend}.npz") as data:
        return dict(data), meta


def _reported(pack: Path, graph: str, backend: str, precision_prefix: str) -> dict[str, float] | None:
    """The metrics convert wrote into report.json for ``graph`` on ``backend`` against fp32."""
    report = json.loads((pack / "report.json").read_text())
    for check in report["checks"]:
        if (check["graph"], check["backend"], check["against"]) == (graph, backend, "fp32") and check[
            "precision"
        ].startswith(precision_prefix):
            return {k: (float("inf") if v is None else v) for k, v in check["metrics"].items()}
    return None


def compare(work: Path, packs: list[str], backends: list[str]) -> int:
    """Judge every aarch64 result folder (WORK/aarch64-<cpu>) against WORK/x86_64; print the summary."""
    from gsv_edge.convert.report import THRESHOLDS, logit_metrics, snr_db
    from gsv_edge.runtime.pack import read_manifest

    x86 = work / "x86_64"
    rows: list[Row] = []

    def judge(where, what, value, op, limit, fmt="{:.1f}"):
        passed = value >= limit if op == ">=" else value <= limit
        shown = "inf" if value == float("inf") else fmt.format(value)
        rows.append(Row(*where, what, shown, f"{op} {fmt.format(limit)}", bool(passed)))

    arm_folders = sorted(work.glob("aarch64-*"))
    if not arm_folders:
        rows.append(Row("-", "-", "-", "aarch64 results", f"none in {work}", "some", False))
    for arm in arm_folders:
        cpu = arm.name.removeprefix("aarch64-")
        for backend in backends:
            base, base_meta = _load(x86, "fp32", backend)
            if base is None:
                rows.append(Row(cpu, "fp32", backend, "x86-64 baseline", base_meta["error"], "", False))
                continue
            for pack in packs:
                if not (arm / f"{pack}-{backend}.json").exists():
                    continue  # this CPU does not run this pack (see BOARDS)
                where = (cpu, pack, backend)
                got, meta = _load(arm, pack, backend)
                if got is None:
                    rows.append(Row(*where, "aarch64 run", meta["error"], "runs", False))
                    continue
                if pack == "fp32":
                    same = np.array_equal(got["speech_tokens"], base["speech_tokens"])
                    rows.append(Row(*where, "speech tokens", f"{len(got['speech_tokens'])} "
                                    f"{'identical' if same else 'DIFFER'}", "identical", same))  # fmt: skip
                    sovits = THRESHOLDS["sovits"].value
                    judge(where, "speech SNR dB", snr_db(got["speech_audio"], base["speech_audio"]), ">=", sovits)
                    judge(where, "vocoded SNR dB", snr_db(got["vocoded"], base["vocoded"]), ">=", sovits)
                    logits = logit_metrics(got["logits"], base["logits"])
                    judge(where, "logits max|Δ|", logits["max_abs"], "<=", THRESHOLDS["t2s"].value, "{:.1e}")
                    codes = float(np.mean(got["enroll_codes"] == base["enroll_codes"]))
                    judge(where, "voice codes agree", codes, ">=", THRESHOLDS["hubert"].value, "{:.3f}")
                    ge = float(np.max(np.abs(got["enroll_ge"] - base["enroll_ge"])))
                    judge(where, "voice ge max|Δ|", ge, "<=", THRESHOLDS["ref_enc"].value, "{:.1e}")
                    continue
                folder = work / "packs" / pack
                manifest = read_manifest(folder)
                t2s_format = manifest.graph("t2s", backend, ("int4", "int8", "fp16", "fp32")).precision
                logits = logit_metrics(got["logits"], base["logits"])
                # convert measures every compressed GPT against OpenVINO's fp32 logits (passes/t2s.py).
                reported = _reported(folder, "t2s", backend, t2s_format)
                if reported is not None:
                    for key in ("top1_agreement", "logit_cosine"):
                        judge(where, f"t2s {t2s_format} {key}", logits[key], ">=",
                              reported[key] - PROFILE_MARGIN[key], "{:.4f}")  # fmt: skip
                snr = snr_db(got["vocoded"], base["vocoded"])
                graph = "sovits" if backend == "openvino" else "sovits_enc"
                reported = _reported(folder, graph, backend, "")
                if reported is not None:
                    limit = min(reported["snr_db"], 200.0) - PROFILE_MARGIN["snr_db"]
                    judge(where, f"{graph} SNR dB", snr, ">=", limit)
                else:
                    rows.append(Row(*where, "sovits SNR dB", f"{snr:.1f}", "(fp32 graphs: none reported)", True))
                same = _load(x86, pack, backend)[0]
                if same is not None:
                    agree = float(np.mean(got["speech_tokens"] == same["speech_tokens"]))
                    value = f"tokens {agree:.0%}, SNR {snr_db(got['speech_audio'], same['speech_audio']):.1f} dB"
                    rows.append(Row(*where, "speech vs x86-64 same pack", value, "(measured)", True))

    print(_table(rows, x86, arm_folders))
    return 0 if all(row.passed for row in rows) else 1


def _table(rows: list[Row], x86: Path, arm_folders: list[Path]) -> str:
    lines = ["", "ARM64 parity: aarch64 under qemu user-mode emulation against x86-64 fp32"]
    for folder in (x86, *arm_folders):
        metas = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        if metas:
            took = sum(m.get("seconds", 0) for m in metas)
            lines.append(f"  {folder.name}: openvino {metas[0]['openvino'].split('-')[0]}, onnxruntime "
                         f"{metas[0]['onnxruntime']}, {len(metas)} runs in {took:.0f} s")  # fmt: skip
    headers, widths = ("cpu", "pack", "backend", "check", "value", "limit"), (10, 5, 11, 30, 30, 14)
    lines.append("      " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        cells = (row.cpu, row.pack, row.backend, row.what, row.value, row.limit)
        mark = "ok    " if row.passed else "FAIL  "
        lines.append(mark + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))
    failed = sum(not row.passed for row in rows)
    lines.append(f"check-arm64: {len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("work", type=Path)
    p.add_argument("--conformance", type=Path, required=True)
    m = sub.add_parser("measure")
    m.add_argument("work", type=Path)
    m.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("work", type=Path)
    for s in (m, c):
        s.add_argument("--packs", default=",".join(PACKS))
        s.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.work, args.conformance)
    elif args.step == "measure":
        sys.exit(measure(args.work, args.out, args.packs.split(","), args.backends.split(",")))
    else:
        sys.exit(compare(args.work, args.packs.split(","), args.backends.split(",")))


if __name__ == "__main__":
    main()
