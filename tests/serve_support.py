"""A real `gsv-edge serve` process on loopback for the server tests, and what they share."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO_ROOT

# Tokens per segment the test servers decode (--fixed-tokens): the tiny model rarely stops by itself. 150 tokens
# are 6 s of audio, far more than the 20 after which the first chunk goes out.
TOKENS = 150
RATE = 32000
SAMPLES_PER_TOKEN = 1280
PAUSE_SAMPLES = 9600  # 0.3 s after each segment
SEGMENT_SAMPLES = TOKENS * SAMPLES_PER_TOKEN + PAUSE_SAMPLES
SENTENCE = "Hello there, how are you today?"
# Thirteen sentences: upstream's cut1 puts four in a segment and the rest in the last one, so three segments.
LONG_TEXT = " ".join(f"This is sentence number {n} of the text." for n in range(13))


def enroll(pack: Path, voices: Path, clip: Path, name: str = "alice") -> None:
    from gsv_edge.runtime.engine import Engine
    from gsv_edge.runtime.enroll import enroll_voice
    from gsv_edge.runtime.voices import save_voice

    save_voice(enroll_voice(Engine.open(pack), name, clip, "今天天气很好", "zh"), voices)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`gsv-edge serve` in a subprocess; its log in ``log``."""

    def __init__(self, pack: Path, voices: Path, log: Path, *args: str, wyoming: bool = True):
        self.http_port, self.wyoming_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log, self.voices = log, voices
        command = [sys.executable, "-m", "gsv_edge.edge.cli", "serve", "--pack", str(pack), "--voices", str(voices),
                   "--http", f"127.0.0.1:{self.http_port}", "--fixed-tokens", str(TOKENS),
                   "--wyoming", f"tcp://127.0.0.1:{self.wyoming_port}" if wyoming else "off", *args]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "GSV_EDGE_API_KEY"}
        self._log_file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self, headers: dict | None = None, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited: {self.log.read_text()[-3000:]}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise AssertionError(f"the server did not come up: {self.log.read_text()[-3000:]}")

    def metrics(self, headers: dict | None = None) -> dict[tuple, float]:
        """Every sample of /metrics: {(name, sorted labels): value}."""
        text = httpx.get(f"{self.url}/metrics", headers=headers, timeout=10).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def requests_total(metrics: dict, protocol: str, status: str) -> float:
    return metrics.get(("gsv_requests_total", (("protocol", protocol), ("status", status))), 0.0)


def gauge(metrics: dict, name: str) -> float:
    return metrics[(name, ())]


def wait_for(predicate, timeout: float = 30, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
