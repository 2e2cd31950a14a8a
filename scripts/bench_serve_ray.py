"""The HTTP API through Ray Serve (`gsv-edge serve --ray --ray-address local`) against `gsv-edge serve`, on one
machine, interleaved: per request, the time to the first audio and to the last byte, one request at a time; and
the throughput with several requests at once (seconds of audio per wall-clock second). Then the memory (RSS) of
Ray's own processes (GCS, raylet, Serve's controller and proxy, ...) and of each replica.

    .venv/bin/python scripts/bench_serve_ray.py --pack demo/pack-laptop --voice demo

Both servers run during the whole benchmark (Ray's idle processes cost CPU beside the plain server's turns, as
they would on a machine that runs it); rounds alternate between them so that background load falls on both.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

TEXT = "今天的天气非常好，我们一起去公园散步。"
RATE, BYTES_PER_SAMPLE = 32000, 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(pack: str, tokens: int, ray: bool, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "gsv_edge.edge.cli", "serve", "--pack", pack, "--http", f"127.0.0.1:{port}",
               "--wyoming", "off", "--fixed-tokens", str(tokens), "--max-streams", "4"]  # fmt: skip
    if ray:
        command += ["--ray", "--ray-address", "local"]
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        time.sleep(0.5)
    raise SystemExit("server did not come up")


def one(url: str, voice: str, seed: int) -> tuple[float, float, float]:
    """(seconds to the first audio byte, seconds to the last, seconds of audio)."""
    body = {"model": "tts-1", "input": TEXT, "voice": voice, "seed": seed, "response_format": "pcm"}
    started, first, size = time.perf_counter(), None, 0
    with httpx.stream("POST", f"{url}/v1/audio/speech", json=body, timeout=600) as response:
        assert response.status_code == 200, response.read()
        for piece in response.iter_raw():
            if first is None and piece:
                first = time.perf_counter() - started
            size += len(piece)
    return first, time.perf_counter() - started, size / BYTES_PER_SAMPLE / RATE


def concurrent_round(url: str, voice: str, count: int, seed: int) -> float:
    """Seconds of audio per wall-clock second with ``count`` requests at once."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda n: one(url, voice, seed + n), range(count)))
    return sum(audio for _, _, audio in results) / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a server and every process under it (a local Ray cluster's processes are
    children of the command that started it). On a shared machine this is steadier than wall time: a server with
    more busy processes than another also gets a larger share of the cores from the other users' load."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def ray_memory() -> tuple[dict[str, float], dict[str, float]]:
    """MiB of RSS: Ray's own processes by name, and the replicas (and idle workers) by their process title."""
    own, replicas = {}, {}
    for proc in psutil.process_iter(["name", "cmdline", "memory_info"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        rss = proc.info["memory_info"].rss / 2**20 if proc.info["memory_info"] else 0.0
        title = (proc.info["cmdline"] or [""])[0]
        if title.startswith("ray::ServeReplica") or title.startswith("ray::IDLE"):
            replicas[f"{title} [{proc.pid}]"] = rss
        elif title.startswith("ray::"):
            own[f"{title} [{proc.pid}]"] = rss
        elif any(part in cmdline for part in ("gcs_server", "raylet", "dashboard/agent", "log_monitor",
                                               "runtime_env/agent", "monitor.py")):  # fmt: skip
            own[f"{proc.info['name']} [{proc.pid}]"] = rss
    return own, replicas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", required=True)
    parser.add_argument("--voice", default="demo")
    parser.add_argument("--tokens", type=int, default=75, help="tokens per request (3 s of audio)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequential", type=int, default=3, help="requests one at a time per round")
    parser.add_argument("--concurrent", type=int, default=4, help="requests at once per round")
    args = parser.parse_args()
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    servers = {}
    try:
        servers["plain"] = start(args.pack, args.tokens, False, logs / "bench-plain.log")
        servers["ray"] = start(args.pack, args.tokens, True, logs / "bench-ray.log")
        for _, url in servers.values():
            one(url, args.voice, 0)  # warm: the first request sets up each graph's buffers
        first = {name: [] for name in servers}
        total = {name: [] for name in servers}
        throughput = {name: [] for name in servers}
        cpu = dict.fromkeys(servers, 0.0)
        audio = dict.fromkeys(servers, 0.0)
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for name in order:
                process, url = servers[name]
                before = cpu_seconds(process.pid)
                for n in range(args.sequential):
                    f, t, seconds = one(url, args.voice, 100 * round_ + n)
                    first[name].append(f)
                    total[name].append(t)
                    audio[name] += seconds
                started = time.perf_counter()
                throughput[name].append(concurrent_round(url, args.voice, args.concurrent, 1000 * round_))
                audio[name] += throughput[name][-1] * (time.perf_counter() - started)
                cpu[name] += cpu_seconds(process.pid) - before
        for name in servers:
            print(f"{name:5s}: first audio median {1000 * statistics.median(first[name]):7.0f} ms, "
                  f"whole request median {1000 * statistics.median(total[name]):7.0f} ms "
                  f"({len(first[name])} requests, one at a time); {args.concurrent} at once: "
                  f"{statistics.median(throughput[name]):.2f} s of audio per s "
                  f"(rounds: {', '.join(f'{x:.2f}' for x in throughput[name])})")  # fmt: skip
        for name in servers:
            print(
                f"{name:5s}: {cpu[name] / audio[name]:.2f} CPU seconds per second of audio "
                f"({cpu[name]:.0f} CPU s for {audio[name]:.0f} s of audio, every process of the server)"
            )
        extra_first = statistics.median(first["ray"]) - statistics.median(first["plain"])
        extra_total = statistics.median(total["ray"]) - statistics.median(total["plain"])
        print(f"ray - plain, per request: first audio {1000 * extra_first:+.0f} ms, whole {1000 * extra_total:+.0f} ms")
        own, replicas = ray_memory()
        driver = psutil.Process(servers["ray"][0].pid)  # gsv-edge serve --ray: the driver that deployed
        own[f"driver: gsv-edge serve --ray [{driver.pid}]"] = driver.memory_info().rss / 2**20
        plain_rss = psutil.Process(servers["plain"][0].pid).memory_info().rss / 2**20
        print(f"plain gsv-edge serve: {plain_rss:.0f} MiB RSS")
        print(f"Ray's own processes: {sum(own.values()):.0f} MiB RSS in all")
        for key, value in sorted(own.items(), key=lambda kv: -kv[1]):
            print(f"  {value:7.0f} MiB  {key}")
        print(f"replicas and workers: {sum(replicas.values()):.0f} MiB RSS in all")
        for key, value in sorted(replicas.items(), key=lambda kv: -kv[1]):
            print(f"  {value:7.0f} MiB  {key}")
    finally:
        for process, _ in servers.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process, _ in servers.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
