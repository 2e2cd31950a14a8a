"""Soak: a real `gsv-edge serve` (batched) under minutes of mixed concurrent load over loopback: short and long
texts, requests the client abandons after the first audio, Wyoming requests, and bad requests. Nothing fails but
what should, and the server's memory after the load is back within 5 % of what it was after the warm-up.

Not part of `make test` (deselected by the `soak` marker): CI runs `make soak-ci` (about 3 minutes on the tiny
conformance pack) after the suite, and `make soak` runs 30 minutes on the full-size demo pack.
GSV_SOAK_SECONDS sets the length, GSV_SOAK_PACK the pack (default: the tiny conformance model, converted)."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.serve_support import LONG_TEXT, SENTENCE, Server, enroll, requests_total

pytestmark = pytest.mark.soak

CLIENTS = 4
SHORT_TEXTS = ["The kitchen timer is done.", SENTENCE, "你好，世界。", "Your next meeting starts soon."]


def vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Load:
    """CLIENTS threads sending a seeded random mix until stopped; what each kind of request came back as."""

    def __init__(self, server: Server):
        self.server = server
        self.stop = threading.Event()
        self.outcomes: dict[str, int] = {}
        self.unexpected: list[str] = []
        self._lock = threading.Lock()

    def _count(self, kind: str, ok: bool, detail: str = "") -> None:
        with self._lock:
            self.outcomes[kind] = self.outcomes.get(kind, 0) + 1
            if not ok:
                self.unexpected.append(f"{kind}: {detail}"[:300])

    def _speech(self, client: httpx.Client, text: str, kind: str, abandon: bool = False) -> None:
        body = {"model": "gsv-edge", "input": text, "voice": "alice", "response_format": "pcm"}
        with client.stream("POST", f"{self.server.url}/v1/audio/speech", json=body) as response:
            if response.status_code != 200:
                self._count(kind, False, f"HTTP {response.status_code} {response.read()[:200]!r}")
                return
            received = 0
            for piece in response.iter_bytes():
                received += len(piece)
                if abandon and received:
                    break  # the client goes away mid-stream: the server cancels the utterance
        self._count(kind, received > 0, "no audio")

    def _bad(self, client: httpx.Client, rng: random.Random) -> None:
        body, status = rng.choice([
            ({"model": "gsv-edge", "input": "Hello.", "voice": "nobody"}, 404),
            ({"model": "gsv-edge", "input": "", "voice": "alice"}, 400),
            ({"model": "gsv-edge", "input": "Hello.", "voice": "alice", "response_format": "ogg-vorbis"}, 400),
            ({"model": "gsv-edge", "input": "x" * 5000, "voice": "alice"}, 400),
        ])  # fmt: skip
        response = client.post(f"{self.server.url}/v1/audio/speech", json=body)
        ok = response.status_code == status and "error" in response.json()
        self._count("bad", ok, f"HTTP {response.status_code} {response.text[:200]}")

    def _wyoming(self, text: str) -> None:
        from wyoming.client import AsyncTcpClient
        from wyoming.tts import Synthesize, SynthesizeVoice

        async def talk() -> bool:
            async with AsyncTcpClient("127.0.0.1", self.server.wyoming_port) as client:
                await client.write_event(Synthesize(text, voice=SynthesizeVoice("alice")).event())
                chunks = 0
                while (event := await client.read_event()) is not None:
                    chunks += event.type == "audio-chunk"
                    if event.type in ("audio-stop", "error"):
                        return event.type == "audio-stop" and chunks > 0
                return False

        self._count("wyoming", asyncio.run(talk()), "no audio-stop")

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as client:
            while not self.stop.is_set():
                choice = rng.random()
                try:
                    if choice < 0.45:
                        self._speech(client, rng.choice(SHORT_TEXTS), "short")
                    elif choice < 0.6:
                        self._speech(client, LONG_TEXT, "long")
                    elif choice < 0.75:
                        self._speech(client, rng.choice([LONG_TEXT, *SHORT_TEXTS]), "abandoned", abandon=True)
                    elif choice < 0.9:
                        self._bad(client, rng)
                    else:
                        self._wyoming(rng.choice(SHORT_TEXTS))
                except (httpx.HTTPError, OSError) as err:
                    self._count("transport", False, f"{type(err).__name__}: {err}")

    def run_for(self, seconds: float) -> None:
        self.stop.clear()
        threads = [threading.Thread(target=self._client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(180)


@pytest.fixture(scope="module")
def soak_pack(request) -> Path:
    chosen = os.environ.get("GSV_SOAK_PACK")
    return Path(chosen) if chosen else request.getfixturevalue("runtime_pack")


def test_soak_mixed_concurrent_load(soak_pack, reference_clip, tmp_path):
    seconds = float(os.environ.get("GSV_SOAK_SECONDS", "180"))
    voices = tmp_path / "voices"
    enroll(soak_pack, voices, reference_clip)
    server = Server(soak_pack, voices, tmp_path / "server.log", "--max-streams", str(CLIENTS), "--queue", "8",
                    "--fixed-tokens", "60")  # fmt: skip
    try:
        server.wait_ready()
        load = Load(server)
        load.run_for(min(30.0, seconds / 5))  # warm-up: every kind of request and every graph shape once
        time.sleep(2)
        warm_kb = vm_rss_kb(server.process.pid)
        load.run_for(seconds)
        time.sleep(2)
        end_kb = vm_rss_kb(server.process.pid)
        metrics = server.metrics()
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    print(f"soak {seconds:.0f} s: {load.outcomes}; RSS after warm-up {warm_kb / 1024:.1f} MB, at the end "
          f"{end_kb / 1024:.1f} MB ({100 * (end_kb / warm_kb - 1):+.1f} %)")  # fmt: skip
    assert not load.unexpected, load.unexpected[:5]
    assert all(load.outcomes.get(kind, 0) > 0 for kind in ("short", "long", "abandoned", "bad", "wyoming"))
    assert requests_total(metrics, "http", "error") == 0 and requests_total(metrics, "wyoming", "error") == 0
    assert "Traceback" not in log, log[-3000:]
    assert end_kb <= 1.05 * warm_kb, f"RSS grew from {warm_kb} kB after warm-up to {end_kb} kB"
