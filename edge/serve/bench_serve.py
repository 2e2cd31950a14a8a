"""``gsv-edge bench-serve``: the server under concurrent load, with batching on and off (printed, not asserted).

It starts two ``gsv-edge serve`` processes on the pack (loopback; batched and ``--no-batching``; a stand-in voice
when none is given, as ``bench`` does), then for each level of 1, 2, 4 and 8 concurrent clients, interleaved
between the two servers, sends a fixed mix of sentences over HTTP (``response_format`` pcm, streamed) and reads
every response as it arrives. Per level and server:

- ``audio_per_wall``: seconds of audio produced per second of wall time, all clients together;
- ``first_audio_p50_ms`` / ``first_audio_p99_ms``: request sent → first audio bytes;
- ``request_p99_ms``: request sent → last byte;
- ``realtime_share``: the share of requests whose every piece of audio arrived before it was due, that is before
  a player that started at the first bytes would have played everything before it;
- ``peak_rss_mb``: the server's largest resident memory during the level (its /proc status, sampled).

Each segment decodes ``TOKENS`` tokens (the server's ``--fixed-tokens``), so runs are comparable. Only the standard
library is used, so it runs on a device with a plain install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from gsv_edge.edge.serve.latency import TOKENS, _free_port, _stand_in_voices, _wait_ready, open_speech
from gsv_edge.runtime.vocoder import SAMPLE_RATE

LEVELS = (1, 2, 4, 8)
SENTENCES = (
    "The kitchen timer is done.",
    "It is twenty degrees outside, with light rain expected in the afternoon.",
    "Your next meeting starts in fifteen minutes.",
    "The front door is locked, and the garage door is closed.",
)
"""The mix every level cycles through (one segment each: every request is ``TOKENS`` tokens of audio)."""
BYTES_PER_SECOND = 2 * SAMPLE_RATE  # pcm: 16-bit mono at the model's rate


def _one_request(port: int, voice: str, text: str) -> dict:
    connection, response, started = open_speech(port, voice, text, timeout=300)
    first, received, on_time = None, 0, True
    while piece := response.read1(65536):
        now = time.perf_counter()
        if first is None:
            first = now
        # due: when a player that started at the first bytes has played everything received before this piece
        on_time = on_time and now <= first + received / BYTES_PER_SECOND
        received += len(piece)
    connection.close()
    ended = time.perf_counter()
    return {"first_audio_s": (first or ended) - started, "request_s": ended - started,
            "audio_s": received / BYTES_PER_SECOND, "on_time": on_time and first is not None}  # fmt: skip


class _PeakRSS:
    """The largest VmRSS of a process while it runs (sampled every 20 ms from /proc)."""

    def __init__(self, pid: int):
        self.pid, self.peak_kb = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except OSError:
                return
            self._stop.wait(0.02)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_level(port: int, pid: int, voice: str, streams: int, requests: int) -> dict:
    """``requests`` requests (at least one per client) from ``streams`` clients at once; the level's figures."""
    count = max(requests, streams)
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(count)]
    results: list[dict] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for text in texts[index::streams]:
            try:
                outcome = _one_request(port, voice, text)
            except (OSError, RuntimeError) as err:
                with lock:
                    errors.append(str(err))
                continue
            with lock:
                results.append(outcome)

    with _PeakRSS(pid) as rss:
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(streams)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} of {count} requests failed at {streams} streams: {errors[0]}")
    first = np.array([r["first_audio_s"] for r in results]) * 1000
    return {
        "streams": streams,
        "requests": count,
        "audio_per_wall": round(sum(r["audio_s"] for r in results) / wall, 3),
        "first_audio_p50_ms": round(float(np.percentile(first, 50)), 1),
        "first_audio_p99_ms": round(float(np.percentile(first, 99)), 1),
        "request_p99_ms": round(float(np.percentile([r["request_s"] * 1000 for r in results], 99)), 1),
        "realtime_share": round(sum(r["on_time"] for r in results) / len(results), 3),
        "peak_rss_mb": round(rss.peak_kb / 1024, 1),
    }


def _start(pack: Path, voices: Path | None, batching: bool, work: Path, max_streams: int, profile: str | None):
    port = _free_port()
    command = [sys.executable, "-m", "gsv_edge.edge.cli", "serve", "--pack", str(pack), "--wyoming", "off",
               "--http", f"127.0.0.1:{port}", "--max-streams", str(max_streams), "--queue", str(4 * max_streams),
               "--fixed-tokens", str(TOKENS), "--batching" if batching else "--no-batching"]  # fmt: skip
    if voices is not None:
        command += ["--voices", str(voices)]
    if profile is not None:
        command += ["--profile", profile]
    log = open(work / f"server-{'batched' if batching else 'solo'}.log", "w+")  # noqa: SIM115 - closed by the caller
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        _wait_ready(server, port, log)
    except BaseException:
        server.kill()
        raise
    return server, port, log


def measure(pack: Path, voice: str | None = None, voices: Path | None = None, levels=LEVELS, requests: int = 8,
            setups: tuple[bool, ...] = (True, False), profile: str | None = None) -> dict:  # fmt: skip
    """The figures of every level, for each setup (batched: True/False), levels interleaved between setups; the
    servers run with ``profile``'s settings when given (else the pack's own)."""
    with tempfile.TemporaryDirectory(prefix="gsv-edge-bench-serve-") as folder:
        work = Path(folder)
        if voice is None:
            voices = work / "voices"
            voice = _stand_in_voices(pack, voices)
        servers = {}
        try:
            for batching in setups:
                servers[batching] = _start(pack, voices, batching, work, max(levels), profile)
            out = []
            for streams in levels:
                for batching in setups:
                    server, port, _ = servers[batching]
                    run_level(port, server.pid, voice, 1, 1)  # settles the server between levels and setups
                    level = run_level(port, server.pid, voice, streams, requests)
                    out.append({"batched": batching, **level})
        finally:
            for server, _, log in servers.values():
                server.terminate()
                server.wait(60)
                log.close()
    return {"levels": sorted(out, key=lambda level: (not level["batched"], level["streams"]))}


def summary_lines(result: dict) -> list[str]:
    """The table and the ratios the issue's targets are stated in."""
    lines = [f"{'batched':>7s} {'streams':>7s} {'audio/wall':>10s} {'first p50':>9s} {'first p99':>9s} "
             f"{'req p99':>8s} {'realtime':>8s} {'peak RSS':>8s}"]  # fmt: skip
    for level in result["levels"]:
        lines.append(
            f"{'yes' if level['batched'] else 'no':>7s} {level['streams']:7d} {level['audio_per_wall']:10.2f} "
            f"{level['first_audio_p50_ms']:7.0f}ms {level['first_audio_p99_ms']:7.0f}ms "
            f"{level['request_p99_ms']:6.0f}ms "
            f"{level['realtime_share']:8.2f} {level['peak_rss_mb']:6.0f}MB"
        )
    by = {(level["batched"], level["streams"]): level for level in result["levels"]}
    one, four = by.get((True, 1)), by.get((True, 4))
    if one and four:
        lines.append(
            f"batched, 4 streams against 1: audio/wall {four['audio_per_wall'] / one['audio_per_wall']:.2f}x "
            f"(target >= 1.5), peak RSS +{four['peak_rss_mb'] - one['peak_rss_mb']:.0f} MB (target <= 100), "
            f"first audio p99 {four['first_audio_p99_ms']:.0f} ms (target <= 1000), realtime share "
            f"{four['realtime_share']:.2f} (target 1.0)"
        )
    batched = sorted((level for level in result["levels"] if level["batched"]), key=lambda level: level["streams"])
    if len(batched) > 1 and batched[-1]["streams"] > batched[0]["streams"]:
        low, high = batched[0], batched[-1]
        extra = (high["peak_rss_mb"] - low["peak_rss_mb"]) / (high["streams"] - low["streams"])
        lines.append(f"memory per extra stream (batched, {low['streams']} to {high['streams']}): {extra:.1f} MB")
    for streams in sorted({level["streams"] for level in result["levels"]}):
        on, off = by.get((True, streams)), by.get((False, streams))
        if on and off:
            ratio = on["audio_per_wall"] / off["audio_per_wall"]
            lines.append(f"{streams} streams: batched/unbatched audio/wall {ratio:.2f}x")
    return lines
