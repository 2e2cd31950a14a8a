"""`gsv-edge bench`: how fast a pack speaks on this machine, per backend.

Each backend is measured in a fresh process (``python -m runtime.bench``) so that peak RSS is that backend's
alone. Token counts are fixed so runs are comparable: the GPT decodes exactly ``2.5 × phones`` tokens per
segment (about 10 phones per second of speech) with EOS masked, whatever the model would choose.

Numbers: prefill_ms (first segment), ms_per_token (decode), vocoder_rtf (SoVITS time / audio time),
first_audio_ms (text in → first audio ready; whole first segment until streaming lands), rtf (all time / audio
time), peak_rss_mb.
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

from runtime.sampling import EOS, SamplingOptions
from runtime.t2s import generate
from runtime.vocoder import SAMPLE_RATE, synthesize
from runtime.voices import Voice

DEFAULT_TEXT = "今天的天气非常好，我们一起去公园散步，然后在湖边的咖啡馆喝一杯热茶，再慢慢走回家。"
TOKENS_PER_PHONE = 2.5


class _Timed:
    """Wraps a t2s session: masks EOS (fixed lengths) and records the time of each call."""

    def __init__(self, session):
        self.session, self.calls = session, []

    def reset(self):
        self.session.reset()

    def run(self, rows, mask):
        start = time.perf_counter()
        logits = self.session.run(rows, mask).copy()
        self.calls.append(time.perf_counter() - start)
        logits[EOS] = -np.inf
        return logits


def _bench_voice(synth) -> Voice:
    """A stand-in voice (bench measures speed, not likeness): 3 s of prompt tokens and a short transcript."""
    rng = np.random.default_rng(0)
    segments = synth.phonemize("这是一个参考音频。", "zh")
    gin = _gin(synth)
    return Voice(
        name="bench", language="zh", text="", prompt_tokens=rng.integers(0, 1024, 75),
        phone_ids=np.concatenate([np.asarray(s.phone_ids) for s, _ in segments]),
        bert=np.concatenate([b for _, b in segments], axis=1), ge=(0.3 * rng.standard_normal(gin)).astype(np.float32),
        pack_fingerprint=synth.manifest.fingerprint,
    )  # fmt: skip


def _gin(synth) -> int:
    compiled = synth._compiled("sovits_dec")
    if synth.backend.name == "openvino":
        return int(compiled.input("ge").get_partial_shape()[1].get_length())
    return int(next(i.shape[1] for i in compiled.get_inputs() if i.name == "ge"))


def measure(pack: Path, backend: str | None, text: str = DEFAULT_TEXT, repeats: int = 3) -> dict:
    """Run in this process; returns the numbers for one backend."""
    from runtime.synthesizer import Synthesizer

    started = time.perf_counter()
    synth = Synthesizer.load(pack, backend=backend)
    voice = _bench_voice(synth)
    t2s = _Timed(synth._session("t2s"))
    encoder, decoder = synth._session("sovits_enc"), synth._session("sovits_dec")
    load_s = time.perf_counter() - started
    runs = []
    for repeat in range(repeats + 1):  # the first run warms caches and is not counted
        text_in = time.perf_counter()
        segments = synth.phonemize(text, "zh")
        prefill, per_token, vocoder_s, audio_s, first_audio = [], [], 0.0, 0.0, None
        for segment, bert in segments:
            phones = np.concatenate([voice.phone_ids, np.asarray(segment.phone_ids)])
            steps = max(12, round(TOKENS_PER_PHONE * len(segment.phone_ids)))
            t2s.calls.clear()
            result = generate(t2s, synth.embeddings, phones, np.concatenate([voice.bert, bert], axis=1),
                              voice.prompt_tokens, SamplingOptions(top_k=15, max_steps=steps), seed=repeat)  # fmt: skip
            prefill.append(t2s.calls[0])
            per_token += t2s.calls[1:]
            start = time.perf_counter()
            audio = synthesize(
                encoder, decoder, result.tokens, segment.phone_ids, voice.ge, rng=np.random.default_rng(0)
            )
            vocoder_s += time.perf_counter() - start
            audio_s += len(audio) / SAMPLE_RATE
            if first_audio is None:
                first_audio = time.perf_counter() - text_in
        total = time.perf_counter() - text_in
        if repeat:
            runs.append({
                "prefill_ms": 1000 * prefill[0], "ms_per_token": 1000 * statistics.median(per_token),
                "vocoder_rtf": vocoder_s / audio_s, "first_audio_ms": 1000 * first_audio, "rtf": total / audio_s,
                "audio_s": audio_s,
            })  # fmt: skip
    from runtime.synthesizer import PRECISION_PREFERENCE

    t2s_graph = synth.manifest.graph("t2s", synth.backend.name, PRECISION_PREFERENCE)
    sovits_graph = synth.manifest.graph("sovits_dec", synth.backend.name, PRECISION_PREFERENCE)
    result = {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
    result.update(
        backend=synth.backend.name,
        reason=synth.backend.reason,
        precision=f"t2s {t2s_graph.precision}, sovits {sovits_graph.precision}",
        load_s=round(load_s, 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return result


def bench(pack: Path, backends: list[str], text: str = DEFAULT_TEXT, repeats: int = 3) -> list[dict]:
    """Measure each backend in its own process."""
    results = []
    for backend in backends:
        command = [sys.executable, "-m", "runtime.bench", str(pack), backend, text, str(repeats)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            results.append({"backend": backend, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    pack_arg, backend_arg, text_arg, repeats_arg = sys.argv[1:5]
    print(json.dumps(measure(Path(pack_arg), backend_arg, text_arg, int(repeats_arg))))
