"""The server's Prometheus metrics, in a registry of its own (so two servers in one process, as tests or a Ray
replica may make, never share counts).

The names are the ones the serve issue lists; prometheus_client adds ``_total`` to a counter's name and
``_bucket``/``_sum``/``_count`` to a histogram's. The default process collectors (CPU, memory, open files,
Python's GC and version) are registered in the same registry, so one scrape shows them beside ours.
"""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

# First audio is what a listener (and a Home Assistant satellite, which gives up after about 5 s) judges: fine
# buckets below a second, coarse ones up to the satellite's limit and past it.
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
REQUEST_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
# A GPT decode step is a few milliseconds on a laptop and tens on a Raspberry Pi 4; a prefill up to a second.
STEP_BUCKETS = (0.001, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0)
VOCODER_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Every metric the server exports, and the registry that holds them."""

    def __init__(self, pack_name: str = "", backend: str = ""):
        self.registry = registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=registry)
        platform_collector.PlatformCollector(registry=registry)
        gc_collector.GCCollector(registry=registry)
        self.requests = Counter(
            "gsv_requests", "Utterances requested, by protocol and outcome (ok, bad_request, busy, cancelled, "
            "deadline, error).", ["protocol", "status"], registry=registry,
        )  # fmt: skip
        self.request_duration = Histogram(
            "gsv_request_duration_seconds", "Seconds from a request's arrival to its last audio.",
            ["protocol"], buckets=REQUEST_BUCKETS, registry=registry,
        )  # fmt: skip
        self.time_to_first_audio = Histogram(
            "gsv_time_to_first_audio_seconds", "Seconds from a request's arrival to its first audio chunk.",
            ["protocol"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "gsv_queue_wait_seconds", "Seconds a request waited for a free stream (0 when one was free).",
            buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.gpt_step = Histogram(
            "gsv_gpt_step_seconds", "Seconds per GPT graph call (a prefill or one decode step).",
            buckets=STEP_BUCKETS, registry=registry,
        )  # fmt: skip
        self.vocoder_chunk = Histogram(
            "gsv_vocoder_chunk_seconds", "Seconds per SoVITS graph call (the encoder on a chunk's tokens, or "
            "the decoder on one window).", buckets=VOCODER_BUCKETS, registry=registry,
        )  # fmt: skip
        self.streams_active = Gauge("gsv_streams_active", "Utterances being spoken now.", registry=registry)
        self.requests_waiting = Gauge(
            "gsv_requests_waiting", "Requests waiting in the queue for a free stream.", registry=registry
        )
        self.gpt_batch_size = Gauge(
            "gsv_gpt_batch_size", "Streams advanced by the latest GPT graph call (1 without batching).",
            registry=registry,
        )  # fmt: skip
        self.audio_seconds = Counter("gsv_audio_seconds", "Seconds of audio produced.", registry=registry)
        self.synthesis_seconds = Counter(
            "gsv_synthesis_seconds", "Wall seconds spent speaking utterances (summed over streams).",
            registry=registry,
        )  # fmt: skip
        build = Info("gsv_build", "gsv-edge version, the pack served and its main backend.", registry=registry)
        build.info({"version": package_version(), "pack": pack_name, "backend": backend})

    def render(self) -> bytes:
        """The text exposition format, for GET /metrics."""
        return generate_latest(self.registry)

    def instrument(self, graph: str, session):
        """``Engine.instrument``'s wrap: GPT calls timed into gsv_gpt_step_seconds, SoVITS calls into
        gsv_vocoder_chunk_seconds; other graphs (BERT, HuBERT) as they are."""
        if graph == "t2s":
            return _TimedSession(session, self.gpt_step, self.gpt_batch_size)
        if graph in ("sovits_enc", "sovits_dec"):
            return _TimedSession(session, self.vocoder_chunk, None)
        return session


class _TimedSession:
    """A session whose ``run`` calls are timed into a histogram; everything else passes through."""

    def __init__(self, session, histogram: Histogram, batch_gauge: Gauge | None):
        self._session, self._histogram, self._batch_gauge = session, histogram, batch_gauge

    def run(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self._histogram.observe(time.perf_counter() - start)
            if self._batch_gauge is not None:
                self._batch_gauge.set(_rows_in_call(args))

    def __getattr__(self, name):  # reset() and whatever else the runtime asks of a session
        return getattr(self._session, name)


def _rows_in_call(args: tuple) -> int:
    """Streams a GPT call advanced: the batch of ``x`` in an ONNX Runtime feed (the batched GPT calls its graph
    as ``run(outputs, feed)``), else one (a stream's own session: ``run(rows, mask)``)."""
    feed = args[1] if len(args) > 1 and isinstance(args[1], dict) else None
    return int(feed["x"].shape[0]) if feed is not None and "x" in feed else 1


def package_version() -> str:
    try:
        return version("gsv-edge")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
