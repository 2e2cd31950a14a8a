"""``gsv-edge serve --ray``: the same HTTP API on a Ray Serve cluster, the GPT and SoVITS as deployments of their own.

Three deployments, composed through Ray Serve deployment handles, every hop streaming:

- ``Ingress`` (``GsvEdgeIngress``): the FastAPI app of ``gsv-edge serve`` (``http_app.create_app``) over a
  ``Service`` of its own, so admission, deadlines, errors and metrics are the plain server's. It reads the voices
  and runs the text front end and BERT (``SpeechStream.segment_jobs``: the same seeds and inputs as
  ``gsv-edge say``), then streams each segment from a ``Vocoder`` (``RayRunner``, the Service's runner seam).
- ``Vocoder``: SoVITS. For each segment it asks a ``T2S`` replica for the tokens (a stream) and vocodes them
  window by window as they arrive (``runtime.streaming.SegmentStreamer``), so the first window's audio leaves the
  cluster before the segment's last token is made. The vocoder is the caller of the GPT because the streamer's
  state (tokens so far, prior noise, cross-fade tail) lives between windows; Serve routes each call to any
  replica, so that state cannot stay behind in a replica between two calls from the ingress.
- ``T2S``: the GPT. Each request's tokens come from ``Engine.generate_tokens`` in a worker thread of its own, so
  the requests a replica holds call it at the same time (where the engine batches concurrent callers, they
  share its decode steps).

Only the ingress reads voices (from the one ``--voices`` folder: with several ingress replicas on several
machines, a shared folder); the GPT and the vocoder get arrays. Every replica loads the same pack (a path every
node can read) with the same profile, so their streaming plans agree.

Faults: a replica that dies under a request surfaces here as a ``RayError``. Before the first audio has gone
out the segment is asked for once more (Serve routes it to a live replica, or waits for the restarted one); after
that the request ends with ``ReplicaFailed`` (HTTP 503; an SSE ``error`` event once the body has begun), and
Serve restarts the replica for the next requests.

Nothing in ``runtime/`` or in the plain ``gsv-edge serve`` path imports this module (it imports ray).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass

import numpy as np
from ray import serve
from ray.exceptions import RayError
from ray.serve.handle import DeploymentHandle

from gsv_edge.edge.serve.service import Deliver, Limits, ServerBusy, Service
from gsv_edge.runtime.engine import Engine
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.synthesizer import SEGMENT_PAUSE_SECONDS, AudioChunk, SegmentJob, SpeechStream
from gsv_edge.runtime.vocoder import SAMPLE_RATE

LOG = logging.getLogger("gsv_edge.serve")

APP_NAME = "gsv-edge"
# Requests one GPT or vocoder replica holds at once (Serve queues the rest at the caller): each is a thread in the
# replica, and a GPT request holds a KV cache.
MAX_ONGOING = 8
API_KEY_ENV = "GSV_EDGE_API_KEY"


@dataclass(frozen=True)
class ClusterConfig:
    """What every replica needs to load (the ``args`` of ``deploy/ray/serve.yaml``)."""

    pack: str
    voices: str | None = None
    profile: str | None = None
    backend: str | None = None
    max_streams: int = 8
    """Utterances one ingress replica speaks at once."""
    queue: int = 32
    deadline_s: float = 120.0
    fixed_tokens: int | None = None
    """For tests and benchmarks only: every segment decodes exactly this many tokens."""
    api_key: str | None = None
    """None: the ingress replica's $GSV_EDGE_API_KEY, if set (keeps the key out of a config file)."""
    batching: bool = True
    """A T2S replica advances the decode steps of all the requests it holds in one batched call."""


def _engine(config: ClusterConfig) -> Engine:
    from gsv_edge.runtime.profile import load_profile

    settings = load_profile(config.profile).settings if config.profile else None
    return Engine.open(config.pack, settings, config.backend)


class ReplicaFailed(ServerBusy):
    """A replica of the GPT or the vocoder died (or was stopped) under this request; Serve restarts it."""


# --- T2S: the GPT ------------------------------------------------------------------------------------------


@serve.deployment(name="T2S", max_ongoing_requests=MAX_ONGOING, ray_actor_options={"num_cpus": 1})
class T2S:
    """Makes one segment's tokens per request, streamed as lists of the tokens made since the last item."""

    def __init__(self, config: ClusterConfig):
        self.engine = _engine(config)
        if config.batching:  # the requests this replica holds share one batched decode step (runtime.batching)
            problem = self.engine.enable_batching()
            if problem:
                LOG.warning("T2S replica without batching: %s", problem)
        # One thread per request held for its whole segment, so the pool must not be what limits them: Serve's
        # max_ongoing_requests (which a config file may raise) does. Threads start only as requests need them.
        self.threads = concurrent.futures.ThreadPoolExecutor(1024, thread_name_prefix="gsv-edge-t2s")
        self.served = 0

    async def generate(self, job: SegmentJob):
        self.served += 1
        loop, made, stop = asyncio.get_running_loop(), asyncio.Queue(), threading.Event()

        def work() -> None:  # the GPT blocks: a thread of its own, so the replica's other requests go on
            tokens = self.engine.generate_tokens(job.phones, job.bert, job.prompt, job.sampling, job.ar_seed)
            try:
                for token in tokens:
                    if stop.is_set():
                        return
                    loop.call_soon_threadsafe(made.put_nowait, ("token", token))
                loop.call_soon_threadsafe(made.put_nowait, ("end", None))
            except Exception as err:  # noqa: BLE001 - raised in the request, below
                loop.call_soon_threadsafe(made.put_nowait, ("error", err))
            finally:
                tokens.close()  # hands the GPT session (or the batch row) back at once

        worker = loop.run_in_executor(self.threads, work)
        try:
            while True:
                batch = [await made.get()]
                while not made.empty():  # a slow consumer gets what piled up in one item, not one per token
                    batch.append(made.get_nowait())
                tokens = [value for kind, value in batch if kind == "token"]
                if tokens:
                    yield tokens
                kind, value = batch[-1]
                if kind == "error":
                    raise value
                if kind == "end":
                    return
        finally:
            stop.set()  # cancelled (the caller went away) or done: the worker stops at its next token
            await asyncio.shield(worker)

    def replica(self) -> tuple[str, int]:
        """This replica's tag and how many segments it has been asked for (tests: where traffic went)."""
        return serve.get_replica_context().replica_tag, self.served


# --- Vocoder: SoVITS ---------------------------------------------------------------------------------------


@serve.deployment(name="Vocoder", max_ongoing_requests=MAX_ONGOING, ray_actor_options={"num_cpus": 1})
class Vocoder:
    """Speaks one segment per request: its tokens from ``T2S``, vocoded window by window. Streams
    ``(new tokens, samples)`` whenever a window is decoded, and once more at the segment's end."""

    def __init__(self, config: ClusterConfig, t2s: DeploymentHandle):
        self.engine = _engine(config)
        self.t2s = t2s.options(stream=True)
        self.threads = concurrent.futures.ThreadPoolExecutor(MAX_ONGOING, thread_name_prefix="gsv-edge-vocoder")

    async def speak(self, job: SegmentJob, segment_phones: list[int], ge: np.ndarray, noise_scale: float,
                    speed: float):  # fmt: skip
        from gsv_edge.runtime.streaming import SegmentStreamer

        engine, loop = self.engine, asyncio.get_running_loop()
        streamer = SegmentStreamer(
            engine.session("sovits_enc"), engine.session("sovits_dec"), segment_phones, ge,
            engine.settings.streaming, noise_scale=noise_scale, speed=speed,
            rng=np.random.default_rng(job.noise_seed),
        )  # fmt: skip
        unreported: list[int] = []

        def push(tokens: list[int]) -> np.ndarray:
            pieces = [streamer.push(token) for token in tokens]
            return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)

        async for tokens in self.t2s.generate.remote(job):
            unreported += tokens
            samples = await loop.run_in_executor(self.threads, push, tokens)
            if len(samples):
                yield unreported, samples
                unreported = []
        yield unreported, await loop.run_in_executor(self.threads, streamer.finish)


# --- the ingress: the plain server's HTTP app over a Service whose runner asks the cluster ---------------------


class RayRunner:
    """The ``Service`` runner (``runner.start(speech, deliver)``, as ``ThreadRunner``) that speaks each segment on
    a ``Vocoder`` replica. Each stream has a thread of its own that iterates the handle's stream (a blocking
    iteration is allowed outside the replica's event loop)."""

    def __init__(self, vocoder: DeploymentHandle, max_streams: int):
        self.vocoder = vocoder.options(stream=True)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_streams, thread_name_prefix="gsv-edge-ray-stream")

    def start(self, speech: SpeechStream, deliver: Deliver) -> concurrent.futures.Future:
        return self._pool.submit(self._speak, speech, deliver)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _speak(self, speech: SpeechStream, deliver: Deliver) -> float:
        started = time.perf_counter()
        pause = np.zeros(int(SEGMENT_PAUSE_SECONDS * SAMPLE_RATE), np.float32)
        try:
            sent = False  # audio has gone to the consumer: a fault can no longer be retried unseen
            for job in speech.segment_jobs():
                segment = speech.segments[job.index]
                for attempt in (1, 2):
                    made: list[int] = []
                    del speech.tokens[job.index :]  # a retried segment starts again
                    speech.tokens.append(made)
                    try:
                        for chunk in self._segment(speech, job, made):
                            deliver("chunk", chunk)
                            sent = True
                        break
                    except RayError as err:
                        LOG.warning("a replica failed (attempt %d): %s", attempt, " ".join(str(err).split())[:300])
                        if sent or attempt == 2 or speech.cancelled:
                            raise ReplicaFailed(f"a cluster replica failed during this request "
                                                f"({type(err).__name__}); send it again") from None  # fmt: skip
                if speech.cancelled:
                    break
                if made:
                    deliver("chunk", AudioChunk(pause, SAMPLE_RATE, job.index, segment.text, pause=True))
            deliver("end", None)
        except Exception as err:  # noqa: BLE001 - handed to the consumer, which reports it
            deliver("error", err)
        return time.perf_counter() - started

    def _segment(self, speech: SpeechStream, job: SegmentJob, made: list[int]):
        segment, options = speech.segments[job.index], speech.options
        stream = self.vocoder.speak.remote(job, list(segment.phone_ids), speech.voice.ge, options.noise_scale,
                                           options.speed)  # fmt: skip
        ended = False
        try:
            for tokens, samples in stream:
                if speech.cancelled:
                    return
                made += tokens
                if len(samples):  # a stream cannot scale a segment by a peak it has not seen: clip, as say does
                    yield AudioChunk(np.clip(samples, -1.0, 1.0), SAMPLE_RATE, job.index, segment.text)
            ended = True
        finally:
            if not ended:
                stream.cancel()  # cancelled or failed here: the vocoder's request and its GPT request stop too


@serve.deployment(name="Ingress", max_ongoing_requests=64, ray_actor_options={"num_cpus": 0})
@serve.ingress()
class GsvEdgeIngress:
    """The HTTP API of ``gsv-edge serve`` (FastAPI, ``create_app``) over a Service that speaks on the cluster."""

    def __init__(self, config: ClusterConfig, vocoder: DeploymentHandle):
        from gsv_edge.runtime.profile import load_profile
        from gsv_edge.runtime.synthesizer import Synthesizer

        settings = load_profile(config.profile).settings if config.profile else None
        voices = config.voices or os.path.join(config.pack, "voices")
        synth = Synthesizer.load(config.pack, settings, config.backend, voices_dir=voices)
        for text, language in (("你好，世界。", "zh"), ("Hello, world.", "en")):  # as warm_up: dictionaries, BERT
            try:
                synth.front_end.features(text, language)
            except GsvEdgeError as err:
                LOG.info("no %s warm-up: %s", language, err)
        limits = Limits(config.max_streams, config.queue, config.deadline_s)
        self.service = Service(synth, limits, fixed_tokens=config.fixed_tokens)
        # The runner seam: the Service's own ThreadRunner (no thread started yet) is replaced by the cluster's.
        self.service.runner.shutdown()
        self.service.runner = RayRunner(vocoder, limits.max_streams)
        self.api_key = config.api_key or os.environ.get(API_KEY_ENV) or None

    def __serve_build_asgi_app__(self):
        from gsv_edge.edge.serve.http_app import create_app

        return create_app(self.service, self.api_key)


def build_app(args: dict):
    """The application: ``serve deploy`` calls this with the config file's ``args`` (``ClusterConfig``'s
    fields); replicas, autoscaling and resources come from the file's ``deployments`` or the code's defaults."""
    config = args if isinstance(args, ClusterConfig) else ClusterConfig(**args)
    t2s = T2S.bind(config)
    vocoder = Vocoder.bind(config, t2s)
    return GsvEdgeIngress.bind(config, vocoder)


# --- gsv-edge serve --ray ----------------------------------------------------------------------------------


def run(config, address: str, t2s_replicas: int = 1, vocoder_replicas: int = 1, replica_cpus: float = 1.0) -> None:
    """Deploy onto the Ray cluster at ``address`` (``local``: start one on this machine), serve HTTP on
    ``config.http`` until SIGTERM or SIGINT, then delete the application (and stop the local cluster)."""
    import ray

    from gsv_edge.edge.serve.main import _setup_logging, check_config, parse_http

    for value, flag in ((t2s_replicas, "--t2s-replicas"), (vocoder_replicas, "--vocoder-replicas")):
        if value < 1:
            raise GsvEdgeError(f"{flag} {value}: use 1 or more")
    if not replica_cpus > 0:
        raise GsvEdgeError(f"--replica-cpus {replica_cpus}: use more than 0")
    if config.http is None:
        raise GsvEdgeError("--ray serves the HTTP API: give --http HOST:PORT")
    warnings = check_config(config)  # the plain server's rules: a key (or --no-auth) beyond loopback
    _setup_logging()
    for warning in warnings:
        LOG.warning(warning)
    host, port = parse_http(config.http)
    cluster = ClusterConfig(
        str(config.pack.resolve()), str(config.voices.resolve()) if config.voices else None, config.profile,
        config.backend, config.max_streams, config.queue, config.deadline_s, config.fixed_tokens, config.api_key,
        config.batching,
    )  # fmt: skip
    local = address == "local"
    if not local:
        _check_reachable(address)
    from gsv_edge.runtime.pack import read_manifest

    read_manifest(config.pack)  # not a pack: one line now, not every replica failing to start on the cluster
    ray.init(address=None if local else address, include_dashboard=False if local else None, logging_level="WARNING")
    try:
        serve.start(http_options={"host": host, "port": port})
        resources = {"num_cpus": replica_cpus}
        t2s = T2S.options(num_replicas=t2s_replicas, ray_actor_options=resources).bind(cluster)
        vocoder = Vocoder.options(num_replicas=vocoder_replicas, ray_actor_options=resources).bind(cluster, t2s)
        try:
            serve.run(GsvEdgeIngress.bind(cluster, vocoder), name=APP_NAME, route_prefix="/", blocking=False)
        except (RuntimeError, RayError) as err:  # a replica's constructor failed (Serve logged why, above)
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise GsvEdgeError(f"the deployment did not start ({first}); see the replicas' errors above") from None
        LOG.info("serving %s on http://%s:%d through Ray (%d T2S, %d Vocoder replicas); ready", config.pack, host,
                 port, t2s_replicas, vocoder_replicas)  # fmt: skip
        _wait_for_a_signal()
        LOG.info("stopping: deleting the application (requests in flight get Serve's graceful shutdown)")
        serve.delete(APP_NAME)
        if local:
            serve.shutdown()
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """A HOST:PORT nobody answers on is a one-line error now: ``ray.init`` would retry it for minutes. (Other forms,
    such as ``auto`` or ``ray://``, are Ray's to resolve.)"""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "/" in host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as err:
        raise GsvEdgeError(f"--ray-address {address}: no Ray cluster answers there ({err.strerror or err}); run "
                           "'ray start --head' on that machine, or use --ray-address local") from None  # fmt: skip


def _wait_for_a_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
