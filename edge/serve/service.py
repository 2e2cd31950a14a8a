"""The server's core, the same for every protocol: admit a request, speak it, hand its chunks over, account for it.

    utterance = await service.open(SpeechRequest(text, voice, protocol="http"))   # GsvEdgeError: bad request
    async with utterance:                                                         # leaving it cancels the rest
        async for chunk in utterance:                                             # AudioChunks, as vocoded
            send(chunk)

What it does for every request, whatever protocol asked:

- **Admission.** At most ``max_streams`` utterances are spoken at once; up to ``queue`` more wait, first come first
  served; beyond that the request is refused at once (``ServerBusy``: HTTP 503 with Retry-After, a Wyoming Error).
- **A deadline** per request, from its arrival: waiting in the queue counts. When it passes, the utterance is
  cancelled and the consumer gets ``DeadlineExceeded``.
- **Cancellation.** A consumer that stops early (a client that disconnected) cancels its ``SpeechStream``, which
  stops at its next GPT step; the stream's slot is freed when its worker has really stopped, not before.
- **Accounting.** Metrics (``metrics.Metrics``) and one structured log line per request.

Below the seam: a ``Runner`` turns an open ``SpeechStream`` into chunks. ``ThreadRunner`` speaks each stream in a
worker thread of its own (the runtime's graphs are shared and its per-stream state is the stream's own). Under it,
the engine batches: with ``Engine.enable_batching`` (``gsv-edge serve`` turns it on unless ``--no-batching``) the
GPT decode steps of all streams run as one call per step (``runtime.batching``), and every graph call waits its
turn earliest deadline first, so a new stream's first audio goes ahead of older streams' later windows
(``runtime.scheduling``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from gsv_edge.edge.serve.metrics import Metrics
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.synthesizer import AudioChunk, SpeechOptions, SpeechStream, Synthesizer
from gsv_edge.runtime.voices import check_name

LOG = logging.getLogger("gsv_edge.serve")

MAX_INPUT_CHARACTERS = 4096
"""OpenAI's limit on ``input``; the same for a Wyoming request."""


class ServerBusy(GsvEdgeError):
    """Every stream is busy and the queue is full, or the server is shutting down."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds after which a retry may succeed (HTTP's Retry-After)."""


class DeadlineExceeded(GsvEdgeError):
    """The request ran past its deadline (waiting in the queue included)."""


class VoiceNotFound(GsvEdgeError):
    """The request names a voice that is not enrolled."""


@dataclass(frozen=True)
class Limits:
    """How much the server takes on."""

    max_streams: int = 2
    """Utterances spoken at once."""
    queue: int = 8
    """Requests that may wait for a free stream; more are refused."""
    deadline_s: float = 120.0
    """Seconds a request may take from arrival to its last chunk, waiting included."""

    def __post_init__(self) -> None:
        if type(self.max_streams) is not int or self.max_streams < 1:
            raise GsvEdgeError(f"max_streams {self.max_streams!r}: use 1 or more", option="max_streams")
        if type(self.queue) is not int or self.queue < 0:
            raise GsvEdgeError(f"queue {self.queue!r}: use 0 or more", option="queue")
        if not self.deadline_s > 0:
            raise GsvEdgeError(f"deadline {self.deadline_s!r}: use more than 0 seconds", option="deadline")


@dataclass(frozen=True)
class SpeechRequest:
    """One utterance to speak."""

    text: str
    voice: str
    language: str = "auto"
    options: SpeechOptions = field(default_factory=SpeechOptions)
    protocol: str = "http"
    """For metrics and the log: "http" or "wyoming"."""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def warm_up(synth: Synthesizer) -> None:
    """Before the first request instead of during it: load the Chinese and English text front ends (dictionaries,
    the BERT graph) and speak the start of a sentence in the first enrolled voice (or a stand-in), which runs every
    graph once on the shapes a stream uses (ONNX Runtime and OpenVINO set up buffers on a graph's first runs).
    Without it the first request after a start waits longer for its first audio, and a Home Assistant satellite
    gives up after about 5 s without audio. (Japanese loads at its first request.)"""
    # A sentence of ordinary length (bench's): a stream's first prefill on a longer input still sets up buffers.
    from gsv_edge.edge.bench import ENGLISH_TEXT, _bench_voice

    for text, language in (("你好，世界。", "zh"), ("Hello, world.", "en")):
        try:
            synth.front_end.features(text, language)
        except GsvEdgeError as err:  # a pack or install without that language: its requests will say so
            LOG.info("no %s warm-up: %s", language, err)
    plan = synth.settings.streaming
    tokens = plan.first_chunk_tokens + plan.lookahead_tokens + plan.next_chunk(plan.first_chunk_tokens)
    options = SpeechOptions(seed=0, fixed_length=lambda segment: tokens)  # two chunks: the first and a later one
    try:
        voice = _first_voice(synth) or _bench_voice(synth, "en")
        with synth.open_stream(ENGLISH_TEXT, voice, "en", options) as speech:
            for _ in speech:
                pass
    except GsvEdgeError as err:
        LOG.info("no warm-up utterance: %s", err)


def _first_voice(synth: Synthesizer):
    """The first enrolled voice that loads (its prompt has the length real requests will have), or None."""
    from gsv_edge.runtime.voices import list_voices

    for entry in list_voices(synth.voices_dir):
        try:
            return synth.voice(entry["name"])
        except GsvEdgeError:
            continue
    return None


# --- below the seam: speaking a stream ---------------------------------------------------------------------

Deliver = Callable[[str, object], None]
"""``deliver(kind, value)``, called from the runner's thread: ("chunk", AudioChunk) for each chunk, then ("end",
None), or ("error", exception)."""


class ThreadRunner:
    """Speaks each stream in a worker thread of its own; the future's result is the seconds it took."""

    def __init__(self, max_streams: int):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_streams, thread_name_prefix="gsv-edge-stream")

    def start(self, speech: SpeechStream, deliver: Deliver) -> concurrent.futures.Future:
        return self._pool.submit(_speak, speech, deliver)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _speak(speech: SpeechStream, deliver: Deliver) -> float:
    started = time.perf_counter()
    try:
        with speech:  # closing it hands its GPT session back, however it ends
            for chunk in speech:
                deliver("chunk", chunk)
        deliver("end", None)
    except Exception as err:  # noqa: BLE001 - handed to the consumer, which reports it
        deliver("error", err)
    return time.perf_counter() - started


# --- above the seam: admission, deadlines, accounting ------------------------------------------------------


class Service:
    """One loaded pack, serving utterances to any number of protocol front ends."""

    def __init__(self, synth: Synthesizer, limits: Limits | None = None, metrics: Metrics | None = None,
                 fixed_tokens: int | None = None):  # fmt: skip
        self.synth = synth
        self.limits = limits or Limits()
        self.metrics = metrics or Metrics(synth.engine.pack.name, synth.engine.backend.name)
        self.fixed_tokens = fixed_tokens
        """For tests and benchmarks only: every segment decodes exactly this many tokens (``--fixed-tokens``)."""
        self.runner = ThreadRunner(self.limits.max_streams)
        self.draining = False
        self._cancelling = False  # the drain's time is up: nothing more is admitted
        self._active = 0
        self._opening = 0  # requests being checked, before they take a slot or wait for one
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._in_flight: set[Utterance] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        synth.engine.instrument(self.metrics.instrument)

    # --- the protocols' entry point ---

    async def open(self, request: SpeechRequest) -> Utterance:
        """Check and admit a request, and start speaking it. Raises ``GsvEdgeError`` for a bad request (then
        nothing runs), ``ServerBusy`` when it cannot be taken now, ``DeadlineExceeded`` when it waited too long."""
        arrived = time.perf_counter()
        record = _Record(request, arrived)
        if self.draining:
            err = ServerBusy("the server is shutting down; retry on another instance or after its restart", 5)
            record.finish(self.metrics, "busy", error=str(err))
            raise err
        self._opening += 1  # a request that arrived before a drain began is served by it
        self._idle.clear()
        try:
            self._refuse_when_full()
            speech = await asyncio.to_thread(self._open_stream, request)
            waited = await self._admit(arrived + self.limits.deadline_s)
        except GsvEdgeError as err:
            record.finish(self.metrics, _status_of(err), error=str(err))
            raise
        except Exception as err:  # a fault below (the protocol answers 500 or an error event): still counted
            record.finish(self.metrics, "error", error=f"{type(err).__name__}: {err}")
            raise
        finally:
            self._opening -= 1
            self._update_idle()
        self.metrics.queue_wait.observe(waited)
        utterance = Utterance(self, speech, record, arrived + self.limits.deadline_s)
        self._in_flight.add(utterance)
        utterance.start()
        return utterance

    def _open_stream(self, request: SpeechRequest) -> SpeechStream:
        """The voice and the text checked, in a worker thread (reading the voice and phonemizing take a while)."""
        if not isinstance(request.text, str) or len(request.text) > MAX_INPUT_CHARACTERS:
            raise GsvEdgeError(f"the input is longer than {MAX_INPUT_CHARACTERS} characters; send it in parts")
        check_name(request.voice)  # a name that could reach outside the voice folder is a bad request
        if not (self.synth.voices_dir / f"{request.voice}.npz").is_file():
            raise VoiceNotFound(f"no voice {request.voice!r}; see GET /v1/audio/voices")
        voice = self.synth.voice(request.voice)
        options = request.options
        if self.fixed_tokens is not None:
            count = self.fixed_tokens
            options = dataclasses.replace(options, fixed_length=lambda segment: count)
        return self.synth.open_stream(request.text, voice, request.language, options)

    @property
    def streams_active(self) -> int:
        return self._active

    @property
    def requests_waiting(self) -> int:
        return sum(1 for slot in self._waiters if not slot.done())

    def refused(self, protocol: str) -> None:
        """Count a request its protocol refused before it reached ``open`` (malformed, too large)."""
        self.metrics.requests.labels(protocol, "bad_request").inc()

    def voices(self) -> list[dict]:
        """The enrolled voices' metadata, read afresh (voices may be added or removed while serving)."""
        from gsv_edge.runtime.voices import list_voices

        return list_voices(self.synth.voices_dir)

    # --- admission ---

    def _refuse_when_full(self) -> None:
        if self._active >= self.limits.max_streams and len(self._waiters) >= self.limits.queue:
            raise ServerBusy(
                f"all {self.limits.max_streams} streams are busy and {len(self._waiters)} requests wait; retry later"
            )

    async def _admit(self, deadline_at: float) -> float:
        """Take a stream slot, waiting in the queue when none is free; the seconds waited."""
        started = time.perf_counter()
        if self._cancelling:
            raise ServerBusy("the server is shutting down", 5)
        if self._active < self.limits.max_streams and not self._waiters:
            self._take_slot()
            return 0.0
        self._refuse_when_full()
        slot = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        self._show_counts()
        try:
            # shield: a timeout or a cancelled request must not cancel a slot that was handed over meanwhile
            await asyncio.wait_for(asyncio.shield(slot), timeout=max(0.0, deadline_at - time.perf_counter()))
        except (TimeoutError, asyncio.CancelledError) as err:
            if slot.done() and not slot.cancelled() and slot.exception() is None:
                self._release_slot()  # handed over just as this request gave up: pass it on
            if isinstance(err, TimeoutError):
                raise DeadlineExceeded("the request waited past its deadline for a free stream; retry later") from None
            raise
        finally:
            if not slot.done():
                slot.cancel()
            if slot in self._waiters:
                self._waiters.remove(slot)
            self._show_counts()
        return time.perf_counter() - started

    def _take_slot(self) -> None:
        self._active += 1
        self._idle.clear()
        self._show_counts()

    def _release_slot(self) -> None:
        """A stream has stopped: its slot goes to the first waiter still waiting, or becomes free."""
        while self._waiters:
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(True)  # the slot passes on; _active stays
                self._show_counts()
                return
        self._active -= 1
        self._show_counts()
        self._update_idle()

    def _update_idle(self) -> None:
        if self._active == 0 and self._opening == 0 and not self._waiters:
            self._idle.set()

    def _show_counts(self) -> None:
        self.metrics.streams_active.set(self._active)
        self.metrics.requests_waiting.set(self.requests_waiting)

    # --- shutting down ---

    async def drain(self, timeout: float) -> bool:
        """Refuse new requests, let those in flight (and queued) finish for up to ``timeout`` seconds, then cancel
        the rest. True when everything finished by itself."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            self._cancelling = True
        for slot in list(self._waiters):
            if not slot.done():
                slot.set_exception(ServerBusy("the server is shutting down", 5))
        for utterance in list(self._in_flight):
            utterance.cancel("cancelled", by_server=True)
        try:  # each stream stops at its next GPT step
            await asyncio.wait_for(self._idle.wait(), 30)
        except TimeoutError:
            LOG.warning("streams still running after cancellation; exiting anyway")
        return False

    def close(self) -> None:
        self.runner.shutdown()
        self.synth.engine.instrument(None)


class Utterance:
    """An admitted request being spoken: iterate it (``async for``) for its chunks. Leaving ``async with`` or
    ``aclose()`` before the end cancels it."""

    def __init__(self, service: Service, speech: SpeechStream, record: _Record, deadline_at: float):
        self.service, self.speech, self.record, self.deadline_at = service, speech, record, deadline_at
        self.request = record.request
        self._loop = asyncio.get_running_loop()
        self._handover: asyncio.Queue = asyncio.Queue()  # bounded by the stream: at most 60 s of audio
        self._status: str | None = None  # set when the outcome is not "ok": cancelled, deadline, error
        self._error: str = ""
        self._worker_done = self._consumer_done = False
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._by_server = False

    @property
    def tokens(self) -> list[list[int]]:
        """The semantic tokens made so far, per segment."""
        return self.speech.tokens

    def start(self) -> None:
        remaining = max(0.0, self.deadline_at - time.perf_counter())
        self._deadline_timer = self._loop.call_later(remaining, self._deadline_passed)
        worker = self.service.runner.start(self.speech, self._deliver)
        asyncio.wrap_future(worker, loop=self._loop).add_done_callback(self._worker_finished)

    def _deliver(self, kind: str, value: object) -> None:
        """From the worker thread: hand an event to the event loop (a closed loop means the process is ending)."""
        try:
            self._loop.call_soon_threadsafe(self._handover.put_nowait, (kind, value))
        except RuntimeError:
            self.speech.cancel()

    def _deadline_passed(self) -> None:
        if not self._worker_done and not self._consumer_done:
            self.cancel("deadline")
            self._handover.put_nowait(("deadline", None))

    def cancel(self, status: str = "cancelled", by_server: bool = False) -> None:
        """Stop speaking (at the next GPT step); the outcome is recorded as ``status``. ``by_server``: the
        consumer is told (``ServerBusy``) instead of seeing an ordinary end."""
        if self._status is None:
            self._status = status
        self._by_server = self._by_server or by_server
        self.speech.cancel()

    # --- the consumer's side ---

    def __aiter__(self) -> Utterance:
        return self

    async def __anext__(self) -> AudioChunk:
        if self._consumer_done:
            raise StopAsyncIteration
        kind, value = await self._handover.get()
        if kind == "chunk":
            self.record.chunk(value)
            return value
        if kind == "end":
            self._consumer_finished()
            if self._by_server:
                raise ServerBusy("the server shut down before this request's audio was complete", 5)
            raise StopAsyncIteration
        if kind == "deadline":
            self._consumer_finished()
            raise DeadlineExceeded("the request ran past its deadline; the rest of its audio was dropped")
        self._status, self._error = "error", f"{type(value).__name__}: {value}"
        self._consumer_finished()
        raise value  # an error in the runtime: the protocol reports it without a traceback

    async def aclose(self) -> None:
        if not self._consumer_done:
            self.cancel("cancelled")
            self._consumer_finished()

    async def __aenter__(self) -> Utterance:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # --- bookkeeping, in the event loop's thread ---

    def _worker_finished(self, worker: asyncio.Future) -> None:
        self._worker_done = True
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        if not worker.cancelled() and worker.exception() is None:
            self.service.metrics.synthesis_seconds.inc(worker.result())
        self.service._release_slot()
        self._maybe_finish()

    def _consumer_finished(self) -> None:
        self._consumer_done = True
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        """Once the worker has stopped and the consumer is done: count it, log it, forget it."""
        if not (self._worker_done and self._consumer_done) or self not in self.service._in_flight:
            return
        self.service._in_flight.discard(self)
        self.record.finish(self.service.metrics, self._status or "ok", error=self._error)


class _Record:
    """What the metrics and the log line say about one request."""

    def __init__(self, request: SpeechRequest, arrived: float):
        self.request, self.arrived = request, arrived
        self.first_audio: float | None = None
        self.audio_seconds = 0.0

    def chunk(self, chunk: AudioChunk) -> None:
        if self.first_audio is None:
            self.first_audio = time.perf_counter() - self.arrived
        self.audio_seconds += chunk.seconds

    def finish(self, metrics: Metrics, status: str, error: str = "") -> None:
        protocol = self.request.protocol
        metrics.requests.labels(protocol, status).inc()
        metrics.audio_seconds.inc(self.audio_seconds)
        if status == "ok":
            metrics.request_duration.labels(protocol).observe(time.perf_counter() - self.arrived)
        if self.first_audio is not None:
            metrics.time_to_first_audio.labels(protocol).observe(self.first_audio)
        line = {
            "request": self.request.request_id, "protocol": protocol, "voice": self.request.voice,
            "characters": len(self.request.text) if isinstance(self.request.text, str) else 0,
            "first_audio_ms": round(1000 * self.first_audio) if self.first_audio is not None else None,
            "audio_seconds": round(self.audio_seconds, 2), "status": status,
        }  # fmt: skip
        if error:
            line["error"] = " ".join(error.split())[:200]
        LOG.info(json.dumps(line, ensure_ascii=False))


def _status_of(err: GsvEdgeError) -> str:
    if isinstance(err, ServerBusy):
        return "busy"
    if isinstance(err, DeadlineExceeded):
        return "deadline"
    return "bad_request"
