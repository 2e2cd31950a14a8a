"""`gsv-edge bench`: how fast a pack speaks on this machine, per backend.

Each backend is measured in a fresh process (``python -m gsv_edge.edge.bench``) so that peak RSS is that backend's
alone. Speech is made the way ``gsv-edge say`` plays it: ``Synthesizer.stream``, the GPT in a worker thread and
the vocoder chunk by chunk. Token counts are fixed so runs are comparable: the GPT decodes exactly
``2.5 × phones`` tokens per segment (about 10 phones per second of speech; ``SpeechOptions.fixed_length``),
whatever the model would choose (a random demo model rarely stops by itself). Graph calls are timed through
``Engine.instrument``.

Numbers: prefill_ms (first segment), ms_per_token (decode), vocoder_rtf (SoVITS time / audio time), bert_ms
(the BERT graph over the whole text, all segments; 0 without BERT or Chinese),
first_audio_ms (text in → first audio chunk ready), rtf (all time / audio time), peak_rss_mb, load_s (opening
the pack, in a process that has imported gsv-edge), and for the profile setup process_first_audio_ms: from
starting a fresh process to its first audio bytes on stdout, as ``gsv-edge say --output-raw`` makes them (the
median of three, after one run that fills the caches a first start fills).
"""

from __future__ import annotations

import json
import os
import resource
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from gsv_edge.runtime.vocoder import SAMPLE_RATE
from gsv_edge.runtime.voices import Voice

# 20 words, one sentence: the English latency target is stated for a sentence like this.
ENGLISH_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home to sleep before the rain."
CHINESE_TEXT = "今天的天气非常好，我们一起去公园散步，然后在湖边的咖啡馆喝一杯热茶，再慢慢走回家。"
# 23 characters, one sentence: the Chinese-with-BERT targets are stated for a 20-30 character sentence.
CHINESE_SENTENCE = "今天的天气非常好，我们一起去湖边的公园散步吧。"
BENCH_TEXTS = {"en": ENGLISH_TEXT, "zh": CHINESE_SENTENCE}
DEFAULT_TEXT = ENGLISH_TEXT
TOKENS_PER_PHONE = 2.5


class _Timed:
    """Wraps a session and records how long each call takes, into a list shared by every session it wraps."""

    def __init__(self, session, calls: list[float]):
        self.session, self.calls = session, calls

    def reset(self):
        self.session.reset()

    def run(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.session.run(*args, **kwargs)
        self.calls.append(time.perf_counter() - start)
        return out


def _bench_voice(synth, language: str = "zh") -> Voice:
    """A stand-in voice (bench measures speed, not likeness): 3 s of prompt tokens and a short transcript in
    the language of the text, as a user's own voice usually is (so only that language's front end loads)."""
    rng = np.random.default_rng(0)
    transcript = "This is a reference clip." if language == "en" else "这是一个参考音频。"
    segments = synth.front_end.features(transcript, language)
    gin = synth.engine.decoder_gin()
    return Voice(
        name="bench", language=language, text="", prompt_tokens=rng.integers(0, 1024, 75),
        phone_ids=np.concatenate([np.asarray(s.phone_ids) for s, _ in segments]),
        bert=np.concatenate([b for _, b in segments], axis=1), ge=(0.3 * rng.standard_normal(gin)).astype(np.float32),
        pack_fingerprint=synth.manifest.fingerprint,
    )  # fmt: skip


def _timed_bert(bert, calls: list[float]):
    """``FrontEnd.bert`` timed (the BERT graph runs there, segment by segment, outside the engine's sessions);
    only segments with a Chinese run are recorded (the others get zeros, no graph call)."""

    def timed(segment):
        start = time.perf_counter()
        features = bert(segment)
        if any(run.bert for run in segment.runs):
            calls.append(time.perf_counter() - start)
        return features

    return timed


def fixed_length(segment) -> int:
    """Tokens the bench decodes for a segment: about 10 phones per second of speech, whatever the model says."""
    return max(12, round(TOKENS_PER_PHONE * len(segment.phone_ids)))


def measure(pack: Path, backend: str, text: str = DEFAULT_TEXT, repeats: int = 3, profile: str | None = None) -> dict:
    """Run in this process; returns the numbers for one setup ("profile": the pack's own settings, or those of
    ``profile``; "openvino" / "onnxruntime": every graph on it)."""
    from gsv_edge.runtime.profile import load_profile
    from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer

    started = time.perf_counter()
    settings = load_profile(profile).settings if profile else None
    synth = Synthesizer.load(pack, settings=settings, backend=None if backend == "profile" else backend)
    language = "en" if text.isascii() else "zh"
    voice = _bench_voice(synth, language)
    calls: dict[str, list[float]] = {"t2s": [], "sovits_enc": [], "sovits_dec": [], "bert": []}
    synth.engine.instrument(lambda name, session: _Timed(session, calls[name]) if name in calls else session)
    if synth.engine.has_graph("bert"):
        synth.front_end.bert = _timed_bert(synth.front_end.bert, calls["bert"])
    load_s = time.perf_counter() - started
    runs = []
    for repeat in range(repeats + 1):  # the first run warms caches and is not counted
        for timings in calls.values():
            timings.clear()
        text_in = time.perf_counter()
        first_audio, samples = None, 0
        for chunk in synth.stream(text, voice, language, SpeechOptions(seed=repeat, fixed_length=fixed_length)):
            if first_audio is None:
                first_audio = time.perf_counter() - text_in
            samples += len(chunk.samples)
        total = time.perf_counter() - text_in
        audio_s = samples / SAMPLE_RATE
        if repeat:
            runs.append({
                "prefill_ms": 1000 * calls["t2s"][0], "ms_per_token": 1000 * statistics.median(calls["t2s"][1:]),
                "vocoder_rtf": (sum(calls["sovits_enc"]) + sum(calls["sovits_dec"])) / audio_s,
                "first_audio_ms": 1000 * first_audio, "rtf": total / audio_s, "audio_s": audio_s,
                "bert_ms": 1000 * sum(calls["bert"]),
            })  # fmt: skip
    engine = synth.engine
    graphs = {name: engine.graph_file(name) for name in ("t2s", "sovits_enc", "sovits_dec")}
    result = {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
    result.update(
        setup=backend,
        backend=engine.backend.name,
        reason=engine.backend.reason,
        precision=", ".join(f"{name} {graph.precision}" for name, graph in graphs.items()),
        t2s_backend=engine.backend_for("t2s").name,
        t2s_precision=graphs["t2s"].precision,
        sovits_precision=graphs["sovits_dec"].precision,
        encoder_backend=engine.backend_for("sovits_enc").name,
        encoder_precision=graphs["sovits_enc"].precision,
        load_s=round(load_s, 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return result


def first_audio_in_a_fresh_process(pack: Path, text: str, profile: str | None) -> None:
    """The child of ``process_first_audio_ms``: what ``say --output-raw`` does up to its first chunk (imports,
    load, a stand-in voice, the stream), writing that chunk's PCM to stdout."""
    from gsv_edge.runtime.audio_out import write_raw
    from gsv_edge.runtime.profile import load_profile
    from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer

    settings = load_profile(profile).settings if profile else None
    synth = Synthesizer.load(pack, settings=settings)
    language = "en" if text.isascii() else "zh"
    options = SpeechOptions(seed=0, fixed_length=fixed_length)
    write_raw(next(iter(synth.stream(text, _bench_voice(synth, language), language, options))).samples)


def process_first_audio_ms(pack: Path, text: str, profile: str | None, runs: int = 3) -> float:
    """Milliseconds from starting a fresh process to the first audio bytes it writes (see the module's note)."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "gsv_edge.edge.bench", "first-audio", str(pack), text,
                                  profile or ""], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            ready, _, _ = select.select([child.stdout], [], [], 300)
            got = os.read(child.stdout.fileno(), 2) if ready else b""
            elapsed = time.perf_counter() - started
            child.wait(timeout=300)
        finally:
            child.kill()
        if not got:
            raise RuntimeError((child.stderr.read().decode().strip().splitlines() or ["no audio"])[-1])
        if run:  # the first run fills the compiled-graph and text caches, as a first `say` does
            times.append(1000 * elapsed)
    return round(statistics.median(times), 1)


def bench(
    pack: Path, backends: list[str], text: str = DEFAULT_TEXT, repeats: int = 3, profile: str | None = None
) -> list[dict]:
    """Measure each setup in its own process: "profile" (what the pack's profile runs, e.g. the GPT on ONNX
    Runtime beside OpenVINO's SoVITS), "openvino" or "onnxruntime" (everything on that backend)."""
    results = []
    for backend in backends:
        command = [sys.executable, "-m", "gsv_edge.edge.bench", str(pack), backend, text, str(repeats), profile or ""]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            results.append({"setup": backend, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]})
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if backend == "profile":
            try:
                results[-1]["process_first_audio_ms"] = process_first_audio_ms(pack, text, profile)
            except RuntimeError as err:
                results[-1] = {"setup": backend, "error": f"fresh process: {err}"}
    return results


if __name__ == "__main__":
    from gsv_edge.runtime.errors import GsvEdgeError

    if sys.argv[1] == "first-audio":
        first_audio_in_a_fresh_process(Path(sys.argv[2]), sys.argv[3], sys.argv[4] or None)
        sys.exit(0)
    pack_arg, backend_arg, text_arg, repeats_arg, profile_arg = sys.argv[1:6]
    try:
        print(json.dumps(measure(Path(pack_arg), backend_arg, text_arg, int(repeats_arg), profile_arg or None)))
    except GsvEdgeError as err:  # the parent reports it as this setup's error
        print(str(err), file=sys.stderr)
        sys.exit(2)
