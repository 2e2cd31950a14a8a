"""The object users hold: a loaded pack that speaks text in an enrolled voice, torch-free.

    synth = Synthesizer.load("packs/myvoice-rpi5")
    voice = synth.voice("alice")
    for chunk in synth.stream("你好，世界。", voice):        # AudioChunks, as soon as each is vocoded
        play(chunk.samples, chunk.sample_rate)
    audio = synth.synthesize("你好，世界。", voice)         # the whole utterance at once

The data path, one file per step: text → phones and BERT features (``front_end``) → semantic tokens (``t2s``) →
audio (``vocoder``, chunk by chunk in ``streaming``). The graphs are the engine's (``engine``), loaded once and
shared; each utterance is a ``SpeechStream`` with state of its own (its GPT session and KV cache, its seeds, its
place in the text), so several can be spoken from one loaded pack. Segments are joined with 0.3 s of silence, as
upstream does.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsv_edge.runtime.engine import Engine
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.front_end import FrontEnd
from gsv_edge.runtime.sampling import SamplingOptions
from gsv_edge.runtime.scheduling import Paced, StreamClock
from gsv_edge.runtime.settings import Settings
from gsv_edge.runtime.streaming import SegmentStreamer
from gsv_edge.runtime.text import Segment
from gsv_edge.runtime.text.symbols import symbols_for
from gsv_edge.runtime.vocoder import SAMPLE_RATE, decode_whole
from gsv_edge.runtime.voices import Voice, load_voice, voice_problem

SEGMENT_PAUSE_SECONDS = 0.3


class NoSpeakableText(GsvEdgeError):
    """The text has nothing to say: it is empty, or only punctuation and spaces."""

    def __init__(self) -> None:
        super().__init__("no speakable text in the input (it is empty or only punctuation)")


@dataclass(frozen=True)
class Audio:
    """Mono audio with its rate."""

    samples: np.ndarray
    """float32 samples in [-1, 1]."""
    sample_rate: int
    """Rate of the samples in Hertz."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class AudioChunk(Audio):
    """A piece of a stream, to be played in order."""

    segment: int
    """Index of the text segment it belongs to (0, 1, ...)."""
    text: str
    """That segment's text."""
    pause: bool = False
    """True for the silence that follows a segment."""


@dataclass(frozen=True)
class SpeechOptions:
    """How to speak: sampling, speed and noise; the defaults are upstream's."""

    top_k: int | None = None
    """None: the model's own (from the GPT config)."""
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35
    speed: float = 1.0
    """Above 1 speaks faster."""
    noise_scale: float = 0.5
    """Sampling noise of the prior (upstream default 0.5)."""
    seed: int | None = None
    """Fixes every random choice (tokens and noise) for reproducible output."""
    fixed_length: Callable[[Segment], int] | None = None
    """For benchmarks and tests: make exactly ``fixed_length(segment)`` tokens per segment, EOS never chosen (a
    random model rarely stops by itself, and timed runs must be comparable)."""

    def __post_init__(self) -> None:
        finite = {"top_p": self.top_p, "temperature": self.temperature, "repetition_penalty": self.repetition_penalty,
                  "speed": self.speed, "noise_scale": self.noise_scale}  # fmt: skip
        for key, value in finite.items():
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise GsvEdgeError(f"{key} must be a finite number, not {value!r}", option=key)
        checks = [
            ("top_k", self.top_k is None or (type(self.top_k) is int and self.top_k >= 1), "an integer ≥ 1"),
            ("top_p", 0 < self.top_p <= 1, "above 0 and at most 1 (1: off)"),
            ("temperature", self.temperature > 0, "above 0"),
            ("repetition_penalty", self.repetition_penalty > 0, "above 0 (1: off)"),
            ("speed", 0.25 <= self.speed <= 4, "0.25 to 4"),
            ("noise_scale", self.noise_scale >= 0, "0 or more"),
            ("seed", self.seed is None or (type(self.seed) is int and 0 <= self.seed < 2**63), "0 to 2**63 - 1"),
        ]
        for key, ok, wanted in checks:
            if not ok:
                raise GsvEdgeError(f"{key} {getattr(self, key)!r} is out of range; use {wanted}", option=key)


class _SegmentSeeds:
    """Two seeds per segment (AR sampling, prior noise) from one master seed, so a stream and a whole
    synthesis of the same text with the same seed sample the same tokens and the same noise."""

    def __init__(self, seed: int | None):
        self.rng = np.random.default_rng(seed)

    def next(self) -> tuple[int, int]:
        ar_seed, noise_seed = self.rng.integers(2**63, size=2)
        return int(ar_seed), int(noise_seed)


@dataclass(frozen=True)
class SegmentJob:
    """One segment, ready for the GPT (``Engine.generate_tokens``) and then the vocoder."""

    index: int
    phones: np.ndarray
    """The voice's prompt phone ids, then the segment's."""
    bert: np.ndarray
    """BERT features of those phones (one column per phone)."""
    prompt: np.ndarray
    """The voice's prompt semantic tokens."""
    sampling: SamplingOptions
    ar_seed: int
    """Seeds the GPT's sampling."""
    noise_seed: int
    """Seeds the vocoder's prior noise."""


class SpeechStream:
    """One utterance being spoken: iterate it for ``AudioChunk``s, or call ``whole()`` once.

    It owns what is per utterance: its seeds, its place in the text, the tokens made so far (``tokens``), and while a
    segment's tokens are being made, a GPT session borrowed from the engine or a row of its batch (the KV cache).
    ``cancel()`` (from any thread) stops it at the next GPT step; ``close()`` hands the session or row back (a
    ``with`` block does that too).
    """

    def __init__(self, synth: Synthesizer, segments: list[Segment], voice: Voice, options: SpeechOptions):
        self.engine, self.front_end = synth.engine, synth.front_end
        self.segments, self.voice, self.options = segments, voice, options
        self.tokens: list[list[int]] = []
        """Tokens of each segment so far (EOS excluded); a segment that made none is an empty list."""
        self._cancelled = threading.Event()
        self.clock = StreamClock(self._cancelled)
        """When this stream's listener runs out of audio: its graph calls are scheduled by it."""
        self._chunks: Iterator[AudioChunk] | None = None

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def __iter__(self) -> Iterator[AudioChunk]:
        if self._chunks is None:
            self._chunks = self._stream()
        return self._chunks

    def close(self) -> None:
        if self._chunks is not None:
            self._chunks.close()  # runs the generator's cleanup: worker stopped, GPT session handed back

    def __enter__(self) -> SpeechStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the shared part: tokens per segment ---------------------------------------------------------------

    def _sampling(self, segment: Segment) -> SamplingOptions:
        options = self.options
        top_k = options.top_k or self.engine.manifest.gpt.get("top_k", 15)  # checked with the manifest
        sampling = SamplingOptions(top_k=top_k, top_p=options.top_p, temperature=options.temperature,
                                   repetition_penalty=options.repetition_penalty)  # fmt: skip
        if options.fixed_length is not None:
            length = int(options.fixed_length(segment))
            sampling = dataclasses.replace(sampling, max_steps=length, eos_ban_steps=length)
        return sampling

    def segment_jobs(self) -> Iterator[SegmentJob]:
        """What the GPT and the vocoder need for each segment, in order; BERT runs just before its own segment, so
        the first one does not wait for the others. A cluster deployment (``edge/serve/ray_app.py``) sends these
        to the processes that hold the GPT and SoVITS, so it samples exactly what this stream would."""
        seeds, voice = _SegmentSeeds(self.options.seed), self.voice
        for index, segment in enumerate(self.segments):
            ar_seed, noise_seed = seeds.next()
            bert = self.front_end.bert(segment)
            yield SegmentJob(
                index=index,
                phones=np.concatenate([voice.phone_ids, np.asarray(segment.phone_ids, np.int64)]),
                bert=np.concatenate([voice.bert, bert], axis=1),
                prompt=voice.prompt_tokens,
                sampling=self._sampling(segment),
                ar_seed=ar_seed,
                noise_seed=noise_seed,
            )

    def _token_events(self) -> Iterator[tuple[str, object]]:
        """("segment", (index, noise seed)), then ("token", id) as each is sampled, then ("end", None), per
        segment. The engine makes the tokens (``Engine.generate_tokens``: alone, or batched with other streams')."""
        for job in self.segment_jobs():
            index, noise_seed = job.index, job.noise_seed
            made: list[int] = []
            self.tokens.append(made)
            yield "segment", (index, noise_seed)
            tokens = self.engine.generate_tokens(job.phones, job.bert, job.prompt, job.sampling, job.ar_seed,
                                                 clock=self.clock)  # fmt: skip
            try:
                for token in tokens:
                    if self.cancelled:
                        return
                    made.append(token)
                    yield "token", token
            finally:
                tokens.close()  # hands the GPT session (or the batch row) back at once, however this ends
            yield "end", None

    def _paced(self, name: str):
        """The engine's shared session ``name``, its calls for this stream scheduled by this stream's deadline."""
        return Paced(self.engine.session(name), self.engine.compute_lock, self.clock)

    # --- streamed ------------------------------------------------------------------------------------------

    def _stream(self) -> Iterator[AudioChunk]:
        """Tokens are vocoded chunk by chunk (``runtime.streaming``) while the GPT runs, so the first chunk is
        ready after ``first_chunk_tokens`` tokens, not after the sentence. With the settings' ``overlap`` the GPT
        runs in a worker thread beside the vocoder (for boards with cores to spare); without it the two take
        turns on every core. Samples beyond ±1 are clipped (a stream cannot scale a segment by a peak it has not
        seen yet)."""
        plan, options = self.engine.settings.streaming, self.options
        encoder, decoder = self._paced("sovits_enc"), self._paced("sovits_dec")
        pause = np.zeros(int(SEGMENT_PAUSE_SECONDS * SAMPLE_RATE), np.float32)
        events = self._token_events()
        if plan.overlap:
            events = _in_worker_thread(events)
        try:
            streamer, index = None, 0
            for kind, value in events:
                if kind == "segment":
                    index, noise_seed = value
                    streamer = SegmentStreamer(
                        encoder, decoder, self.segments[index].phone_ids, self.voice.ge, plan,
                        noise_scale=options.noise_scale, speed=options.speed,
                        rng=np.random.default_rng(noise_seed),
                    )  # fmt: skip
                    continue
                samples = streamer.push(value) if kind == "token" else streamer.finish()
                text = self.segments[index].text
                if len(samples):
                    self.clock.produced(len(samples) / SAMPLE_RATE)
                    yield AudioChunk(np.clip(samples, -1.0, 1.0), SAMPLE_RATE, index, text)
                if kind == "end" and streamer.tokens:
                    self.clock.produced(SEGMENT_PAUSE_SECONDS)
                    yield AudioChunk(pause, SAMPLE_RATE, index, text, pause=True)
        finally:
            events.close()

    # --- whole ---------------------------------------------------------------------------------------------

    def whole(self) -> Audio:
        """The whole utterance at once: ``pieces()`` joined."""
        pieces = [piece.samples for piece in self.pieces()]
        return Audio(np.concatenate(pieces) if pieces else np.zeros(0, np.float32), SAMPLE_RATE)

    def pieces(self) -> Iterator[AudioChunk]:
        """Each segment decoded whole once its tokens are made (as upstream does: a segment whose peak is above 1
        is scaled down to 1), then its 0.3 s pause. Only one segment's audio is held at a time, so a long text
        can be written to a file as it is made."""
        options, windows = self.options, self.engine.settings.streaming.decoder_windows
        encoder, decoder = self._paced("sovits_enc"), self._paced("sovits_dec")
        pause = np.zeros(int(SEGMENT_PAUSE_SECONDS * SAMPLE_RATE), np.float32)
        noise_seed, events = 0, self._token_events()
        try:
            for kind, value in events:
                if kind == "segment":
                    index, noise_seed = value
                if kind != "end" or self.cancelled:
                    continue
                tokens, segment = self.tokens[index], self.segments[index]
                if not tokens:
                    # Nothing new was generated: skip the segment. (Vocoding the prompt here would replay the
                    # reference clip, a known failure of other runtimes.)
                    continue
                audio = decode_whole(
                    encoder, decoder, tokens, segment.phone_ids, self.voice.ge,
                    noise_scale=options.noise_scale, speed=options.speed,
                    rng=np.random.default_rng(noise_seed), windows=windows,
                )  # fmt: skip
                peak = float(np.abs(audio).max()) if len(audio) else 0.0
                self.clock.produced(len(audio) / SAMPLE_RATE + SEGMENT_PAUSE_SECONDS)
                yield AudioChunk(audio / peak if peak > 1 else audio, SAMPLE_RATE, index, segment.text)
                yield AudioChunk(pause, SAMPLE_RATE, index, segment.text, pause=True)
        finally:
            events.close()  # the segment's GPT session (or batch row) is handed back at once


def _in_worker_thread(events: Iterator) -> Iterator:
    """Run an event generator in a worker thread, handing its events over through a queue; errors are raised
    in the caller's thread, and closing this generator stops the worker at its next event."""
    handover: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for event in events:
                if stop.is_set():
                    return
                handover.put(event)
            handover.put(("done", None))
        except BaseException as err:  # noqa: BLE001 - handed to the caller, which raises it
            handover.put(("error", err))

    worker = threading.Thread(target=work, name="gsv-edge-t2s", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handover.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield kind, value
    finally:
        stop.set()
        worker.join()


class Synthesizer:
    """A pack, loaded: speaks text in its voices."""

    def __init__(self, engine: Engine, voices_dir: Path | None = None):
        self.engine = engine
        self.front_end = FrontEnd(engine)
        self.voices_dir = voices_dir or engine.pack / "voices"
        """Where ``voice(name)`` looks (default: the pack's ``voices`` folder)."""

    @classmethod
    def load(
        cls,
        pack: str | Path,
        settings: Settings | None = None,
        backend: str | None = None,
        voices_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
    ) -> Synthesizer:
        """Open a pack with its own settings, or ``settings`` (e.g. ``load_profile("rpi4").settings``); every
        graph on ``backend`` (openvino or onnxruntime) when given; voices from ``voices_dir``."""
        engine = Engine.open(pack, settings, backend, cache_dir)
        return cls(engine, Path(voices_dir) if voices_dir is not None else None)

    @property
    def manifest(self):
        return self.engine.manifest

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    def voice(self, name: str) -> Voice:
        """An enrolled voice of this pack (its arrays checked against this model's sizes)."""
        voice = load_voice(self.voices_dir, name, self.manifest.fingerprint)
        symbols = min(len(symbols_for(self.manifest.symbols)), len(self.engine.embeddings.phone_embedding))
        problem = voice_problem(voice, symbols, self.engine.decoder_gin())
        if problem:
            raise GsvEdgeError(f"voice {name!r} does not fit this pack ({problem}); enroll it again for this pack")
        return voice

    def phonemize(self, text: str, language: str = "auto") -> list[Segment]:
        """The segments and phone ids the model would get (cheap: no graph runs, except g2pW on Chinese)."""
        return self.front_end.segments(text, language)

    def open_stream(
        self, text: str, voice: Voice, language: str = "auto", options: SpeechOptions | None = None
    ) -> SpeechStream:
        """An utterance to speak; bad text fails here, in the caller's thread, before any graph runs. Text with
        nothing to say (empty, only punctuation or spaces) is an error, not silence."""
        segments = self.phonemize(text, language)
        if not segments:
            raise NoSpeakableText()
        return SpeechStream(self, segments, voice, options or SpeechOptions())

    def stream(
        self, text: str, voice: Voice, language: str = "auto", options: SpeechOptions | None = None
    ) -> Iterator[AudioChunk]:
        """Audio chunks as soon as each is made, segments separated by 0.3 s pauses. The same seed gives the
        same tokens as ``synthesize``; the audio differs from a whole decode only where the SoVITS encoder would
        have looked at tokens that did not exist yet."""
        with self.open_stream(text, voice, language, options) as speech:
            yield from speech

    def synthesize(
        self, text: str, voice: Voice, language: str = "auto", options: SpeechOptions | None = None
    ) -> Audio:
        """The whole utterance at once (see ``SpeechStream.whole``)."""
        with self.open_stream(text, voice, language, options) as speech:
            return speech.whole()
