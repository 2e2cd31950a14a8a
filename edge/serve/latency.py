"""First-audio latency through the server, as a client sees it (printed, not asserted):

    python -m gsv_edge.edge.serve.latency --pack demo/pack-laptop [--voice NAME] [--repeats 5]

It starts ``gsv-edge serve`` on the pack (loopback, one stream at a time; with a stand-in voice when none is given,
as ``gsv-edge bench`` does), sends one English sentence a few times over each protocol, and prints the median,
minimum and maximum (and, apart, the first request after the start) of

- Wyoming: from writing the ``synthesize`` event to reading the first ``audio-chunk``;
- HTTP: from sending ``POST /v1/audio/speech`` (pcm) to reading the first bytes of audio in the body.

Each segment decodes ``TOKENS`` tokens (the server's ``--fixed-tokens``), so runs are comparable. Only the standard
library and the wyoming package are used, so it runs on a device with a plain install.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gsv_edge.edge.bench import ENGLISH_TEXT

TOKENS = 100  # about 4 s of audio; what the demo model's stop rate gives a sentence


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stand_in_voices(pack: Path, folder: Path) -> str:
    """A stand-in voice (speed does not depend on whose voice it is), written into ``folder``."""
    from gsv_edge.edge.bench import _bench_voice
    from gsv_edge.runtime.synthesizer import Synthesizer
    from gsv_edge.runtime.voices import save_voice

    voice = _bench_voice(Synthesizer.load(pack), "en")
    voice.name = "latency"
    save_voice(voice, folder)
    return voice.name


def open_speech(port: int, voice: str, text: str, timeout: float = 120):
    """POST /v1/audio/speech (pcm, streamed): (connection, response, the perf_counter time it was sent);
    RuntimeError when the answer is not 200."""
    body = json.dumps({"model": "gsv-edge", "input": text, "voice": voice, "response_format": "pcm"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    connection.request("POST", "/v1/audio/speech", body=body, headers={"content-type": "application/json"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.read()[:300]!r}")
    return connection, response, started


def _http_first_bytes(port: int, voice: str, text: str) -> float:
    try:
        connection, response, started = open_speech(port, voice, text)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None
    first = response.read1(65536)  # the first audio bytes, whatever their size
    elapsed = time.perf_counter() - started
    assert first
    while response.read1(65536):  # the rest, so the next request finds the stream free
        pass
    connection.close()
    return elapsed


async def _wyoming_first_chunk(port: int, voice: str, text: str) -> float:
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize, SynthesizeVoice

    async with AsyncTcpClient("127.0.0.1", port) as client:
        started = time.perf_counter()
        await client.write_event(Synthesize(text, voice=SynthesizeVoice(voice)).event())
        elapsed = None
        while True:
            event = await client.read_event()
            if event is None or event.type == "error":
                raise SystemExit(f"wyoming: {event.data if event else 'connection closed'}")
            if event.type == "audio-chunk" and elapsed is None:
                elapsed = time.perf_counter() - started
            if event.type == "audio-stop":
                return elapsed


def measure(pack: Path, voice: str | None, voices: Path | None, repeats: int, text: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="gsv-edge-latency-") as work:
        if voice is None:
            voices = Path(work) / "voices"
            voice = _stand_in_voices(pack, voices)
        http_port, wyoming_port = _free_port(), _free_port()
        command = [sys.executable, "-m", "gsv_edge.edge.cli", "serve", "--pack", str(pack), "--max-streams", "1",
                   "--http", f"127.0.0.1:{http_port}", "--wyoming", f"tcp://127.0.0.1:{wyoming_port}",
                   "--fixed-tokens", str(TOKENS)] + (["--voices", str(voices)] if voices else [])  # fmt: skip
        log = open(Path(work) / "server.log", "w+")  # noqa: SIM115 - closed below
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            _wait_ready(server, http_port, log)
            # the first request of each protocol after the start, reported apart ("cold")
            cold = {"http_first_bytes_ms": _http_first_bytes(http_port, voice, text),
                    "wyoming_first_chunk_ms": asyncio.run(_wyoming_first_chunk(wyoming_port, voice, text))}  # fmt: skip
            wyoming_s, http_s = [], []
            for _ in range(repeats):  # interleaved, so both see the same machine
                wyoming_s.append(asyncio.run(_wyoming_first_chunk(wyoming_port, voice, text)))
                http_s.append(_http_first_bytes(http_port, voice, text))
            rss_mb = _resident_mb(http_port)
        finally:
            server.terminate()
            server.wait(60)
            log.close()
    result = {"wyoming_first_chunk_ms": _summary(wyoming_s), "http_first_bytes_ms": _summary(http_s)}
    for key, seconds in cold.items():
        result[key]["cold"] = round(1000 * seconds, 1)
    result["server_rss_mb"] = rss_mb
    return result


def _resident_mb(port: int) -> float:
    """The server's resident memory, from its /metrics (prometheus_client's process collector)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith("process_resident_memory_bytes "):
            return round(float(line.split()[1]) / 2**20, 1)
    return float("nan")


def _wait_ready(server: subprocess.Popen, port: int, log) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the server exited:\n{log.read()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up in 300 s")


def _summary(seconds: list[float]) -> dict:
    ms = [1000 * s for s in seconds]
    return {"median": round(statistics.median(ms), 1), "min": round(min(ms), 1), "max": round(max(ms), 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--voice", help="an enrolled voice (default: a stand-in voice)")
    parser.add_argument("--voices", type=Path, help="the voice folder of --voice (default: PACK/voices)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--text", default=ENGLISH_TEXT)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = measure(args.pack, args.voice, args.voices, args.repeats, args.text)
    if args.json:
        print(json.dumps(result))
        return
    for label, key in (("Wyoming synthesize -> first audio-chunk", "wyoming_first_chunk_ms"),
                       ("HTTP request -> first audio bytes", "http_first_bytes_ms")):  # fmt: skip
        figures = result[key]
        print(f"{label:42s} median {figures['median']:7.1f} ms  (min {figures['min']:.1f}, max {figures['max']:.1f}, "
              f"{args.repeats} runs; the first after the start: {figures['cold']:.1f})")  # fmt: skip
    print(f"{'server resident memory':42s} {result['server_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
