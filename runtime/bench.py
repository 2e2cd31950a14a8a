"""`gsv-edge bench`: how fast a pack speaks on this machine, per backend.

Each backend is measured in a fresh process (``python -m runtime.bench``) so that peak RSS is that backend's
alone. Speech is made the way ``gsv-edge say`` plays it: ``Synthesizer.stream``, the GPT in a worker thread and
the vocoder chunk by chunk. Token counts are fixed so runs are comparable: the GPT decodes exactly
``2.5 × phones`` tokens per segment (about 10 phones per second of speech) with EOS masked, whatever the model
would choose (a random demo model rarely stops by itself).

Numbers: prefill_ms (first segment), ms_per_token (decode), vocoder_rtf (SoVITS time / audio time),
first_audio_ms (text in → first audio chunk ready), rtf (all time / audio time), peak_rss_mb.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from runtime.sampling import EOS
from runtime.vocoder import SAMPLE_RATE
from runtime.voices import Voice

# 20 words, one sentence: the English latency target is stated for a sentence like this.
ENGLISH_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home to sleep before the rain."
CHINESE_TEXT = "今天的天气非常好，我们一起去公园散步，然后在湖边的咖啡馆喝一杯热茶，再慢慢走回家。"
DEFAULT_TEXT = ENGLISH_TEXT
TOKENS_PER_PHONE = 2.5


class _Timed:
    """Wraps a session and records the time of each call; for t2s it also masks EOS (fixed lengths)."""

    def __init__(self, session, mask_eos: bool = False):
        self.session, self.mask_eos, self.calls = session, mask_eos, []
        self.pads = getattr(session, "pads", False)  # a decoder that takes a padded window's length

    def reset(self):
        self.session.reset()

    def run(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.session.run(*args, **kwargs)
        self.calls.append(time.perf_counter() - start)
        if self.mask_eos:
            out = out.copy()
            out[EOS] = -np.inf
        return out


def _bench_voice(synth, language: str = "zh") -> Voice:
    """A stand-in voice (bench measures speed, not likeness): 3 s of prompt tokens and a short transcript in
    the language of the text, as a user's own voice usually is (so only that language's front end loads)."""
    rng = np.random.default_rng(0)
    transcript = "This is a reference clip." if language == "en" else "这是一个参考音频。"
    segments = synth.phonemize(transcript, language)
    gin = synth.decoder_gin()
    return Voice(
        name="bench", language=language, text="", prompt_tokens=rng.integers(0, 1024, 75),
        phone_ids=np.concatenate([np.asarray(s.phone_ids) for s, _ in segments]),
        bert=np.concatenate([b for _, b in segments], axis=1), ge=(0.3 * rng.standard_normal(gin)).astype(np.float32),
        pack_fingerprint=synth.manifest.fingerprint,
    )  # fmt: skip


def _fixed_steps(segment) -> int:
    return max(12, round(TOKENS_PER_PHONE * len(segment.phone_ids)))


def measure(pack: Path, backend: str | None, text: str = DEFAULT_TEXT, repeats: int = 3) -> dict:
    """Run in this process; returns the numbers for one backend."""
    from runtime.synthesizer import PRECISION_PREFERENCE, SpeechOptions, Synthesizer

    started = time.perf_counter()
    synth = Synthesizer.load(pack, backend=None if backend == "profile" else backend)
    language = "en" if text.isascii() else "zh"
    voice = _bench_voice(synth, language)
    t2s = _Timed(synth._session("t2s"), mask_eos=True)
    vocoder = {name: _Timed(synth._session(name)) for name in ("sovits_enc", "sovits_dec")}
    for name, timed in vocoder.items():
        synth._sessions[f"session:{name}"] = timed
    load_s = time.perf_counter() - started
    runs = []
    for repeat in range(repeats + 1):  # the first run warms caches and is not counted
        for timed in (t2s, *vocoder.values()):
            timed.calls.clear()
        text_in = time.perf_counter()
        first_audio, samples = None, 0
        stream = synth.stream(text, voice, language, SpeechOptions(seed=repeat), _t2s=t2s, _max_steps=_fixed_steps)
        for chunk in stream:
            if first_audio is None:
                first_audio = time.perf_counter() - text_in
            samples += len(chunk)
        total = time.perf_counter() - text_in
        audio_s = samples / SAMPLE_RATE
        if repeat:
            runs.append({
                "prefill_ms": 1000 * t2s.calls[0], "ms_per_token": 1000 * statistics.median(t2s.calls[1:]),
                "vocoder_rtf": sum(sum(v.calls) for v in vocoder.values()) / audio_s,
                "first_audio_ms": 1000 * first_audio, "rtf": total / audio_s, "audio_s": audio_s,
            })  # fmt: skip
    t2s_graph = synth.manifest.graph("t2s", synth.t2s_backend.name, PRECISION_PREFERENCE)
    sovits_graph = synth.manifest.graph("sovits_dec", synth.backend.name, PRECISION_PREFERENCE)
    encoder_graph = synth.manifest.graph("sovits_enc", synth.encoder_backend.name, PRECISION_PREFERENCE)
    result = {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
    result.update(
        setup=backend or "profile",
        backend=synth.backend.name,
        reason=synth.backend.reason,
        precision=f"t2s {t2s_graph.precision}, sovits_enc {encoder_graph.precision}, sovits {sovits_graph.precision}",
        t2s_backend=synth.t2s_backend.name,
        t2s_precision=t2s_graph.precision,
        sovits_precision=sovits_graph.precision,
        encoder_backend=synth.encoder_backend.name,
        encoder_precision=encoder_graph.precision,
        load_s=round(load_s, 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return result


def bench(pack: Path, backends: list[str], text: str = DEFAULT_TEXT, repeats: int = 3) -> list[dict]:
    """Measure each setup in its own process: "profile" (what the pack's profile runs, e.g. the GPT on ONNX
    Runtime beside OpenVINO's SoVITS), "openvino" or "onnxruntime" (everything on that backend)."""
    results = []
    for backend in backends:
        command = [sys.executable, "-m", "runtime.bench", str(pack), backend, text, str(repeats)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            results.append({"setup": backend, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    pack_arg, backend_arg, text_arg, repeats_arg = sys.argv[1:5]
    print(json.dumps(measure(Path(pack_arg), backend_arg, text_arg, int(repeats_arg))))
