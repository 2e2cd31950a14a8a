"""``gsv-edge serve``: load the pack once, serve HTTP (uvicorn) and Wyoming in one event loop, drain on SIGTERM.

Security: both listeners bind to loopback by default. HTTP on any other address needs an API key (bearer token)
or an explicit ``no_auth``; Wyoming has no authentication in its protocol, so Wyoming on another address needs
``no_auth`` (restrict it to the Home Assistant host with a firewall). Each open listener is warned about.

SIGTERM or SIGINT: new requests are refused (HTTP 503, Wyoming error), the listeners close, the utterances in
flight get ``drain_timeout`` seconds to finish, the rest are cancelled (each stops at its next GPT step), and the
process exits with code 0. The server writes nothing but voice files, and those atomically.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from gsv_edge.runtime.errors import GsvEdgeError

LOG = logging.getLogger("gsv_edge.serve")


@dataclass(frozen=True)
class ServeConfig:
    pack: Path
    voices: Path | None = None
    profile: str | None = None
    backend: str | None = None
    http: str | None = "127.0.0.1:8000"
    """HOST:PORT, or None for no HTTP."""
    wyoming: str | None = "tcp://127.0.0.1:10200"
    """tcp://HOST:PORT or unix:///path, or None for no Wyoming."""
    api_key: str | None = None
    no_auth: bool = False
    max_streams: int = 2
    queue: int = 8
    deadline_s: float = 120.0
    drain_timeout_s: float = 10.0
    zeroconf: str | None = None
    fixed_tokens: int | None = None
    """For tests and benchmarks only: decode exactly this many tokens per segment."""
    batching: bool = True
    """Every stream's GPT decode steps in one batched call (``Engine.enable_batching``)."""


def parse_http(spec: str) -> tuple[str, int]:
    """HOST:PORT ([::1]:8000 for IPv6) → (host, port)."""
    parsed = urlparse(f"//{spec}")
    try:
        port = parsed.port
    except ValueError:
        port = None
    if not parsed.hostname or port is None:
        raise GsvEdgeError(f"--http {spec!r}: use HOST:PORT, e.g. 127.0.0.1:8000, or 'off'")
    return parsed.hostname, port


def parse_wyoming(uri: str) -> tuple[str, str | None, int | None]:
    """tcp://HOST:PORT or unix:///path → (scheme, host or path, port)."""
    parsed = urlparse(uri)
    if parsed.scheme == "unix" and parsed.path:
        return "unix", parsed.path, None
    try:
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme != "tcp" or not parsed.hostname or port is None:
        raise GsvEdgeError(f"--wyoming {uri!r}: use tcp://HOST:PORT (e.g. tcp://127.0.0.1:10200), unix:///path "
                           "or 'off'")  # fmt: skip
    return "tcp", parsed.hostname, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_config(config: ServeConfig) -> list[str]:
    """Refuse what must not start (GsvEdgeError naming the flag); the warnings to print for what may."""
    if config.http is None and config.wyoming is None:
        raise GsvEdgeError("both --http and --wyoming are off; serve at least one of them")
    for value, flag, least in ((config.max_streams, "--max-streams", 1), (config.queue, "--queue", 0)):
        if value < least:
            raise GsvEdgeError(f"{flag} {value}: use {least} or more")
    if not config.deadline_s > 0 or not config.drain_timeout_s >= 0:
        raise GsvEdgeError("--deadline must be above 0 and --drain-timeout 0 or more (seconds)")
    if config.api_key is not None and not config.api_key.strip():
        raise GsvEdgeError("the API key is empty; pass --api-key KEY (or GSV_EDGE_API_KEY) with a real key")
    if config.fixed_tokens is not None and config.fixed_tokens < 1:
        raise GsvEdgeError("--fixed-tokens: use 1 or more")
    warnings = []
    if config.http is not None:
        host, port = parse_http(config.http)
        if not is_loopback(host):
            if config.api_key is None and not config.no_auth:
                raise GsvEdgeError(f"--http {config.http} is reachable from other machines: pass --api-key KEY (or "
                                   "set GSV_EDGE_API_KEY), or --no-auth to serve it without a key")  # fmt: skip
            if config.api_key is None:
                warnings.append(f"HTTP on {host}:{port} has no API key: anyone who can reach it can use it")
    if config.wyoming is not None:
        scheme, host, port = parse_wyoming(config.wyoming)
        if scheme == "tcp" and not is_loopback(host):
            if not config.no_auth:
                raise GsvEdgeError(f"--wyoming {config.wyoming} is reachable from other machines and Wyoming has no "
                                   "authentication: pass --no-auth to allow it (and let a firewall admit only the "
                                   "Home Assistant host)")  # fmt: skip
            warnings.append(f"Wyoming on {host}:{port} has no authentication: anyone who can reach it can use it")
        if config.zeroconf is not None and (scheme != "tcp" or is_loopback(host)):
            raise GsvEdgeError("--zeroconf announces the Wyoming port on the network: bind it to a network address "
                               "(--wyoming tcp://0.0.0.0:10200 --no-auth)")  # fmt: skip
    elif config.zeroconf is not None:
        raise GsvEdgeError("--zeroconf announces the Wyoming server, and --wyoming is off")
    return warnings


def run(config: ServeConfig) -> None:
    """Check the options, load the pack, serve until SIGTERM or SIGINT."""
    warnings = check_config(config)
    _setup_logging()
    for warning in warnings:
        LOG.warning(warning)
    from gsv_edge.runtime.profile import load_profile
    from gsv_edge.runtime.synthesizer import Synthesizer

    settings = load_profile(config.profile).settings if config.profile else None
    voices = config.voices or config.pack / "voices"
    synth = Synthesizer.load(config.pack, settings=settings, backend=config.backend, voices_dir=voices)
    if config.batching:
        problem = synth.engine.enable_batching()
        if problem:
            LOG.warning("no batching: %s; each stream runs its own GPT steps", problem)
    from gsv_edge.edge.serve.service import warm_up

    warm_up(synth)
    asyncio.run(_serve(synth, config))


async def _serve(synth, config: ServeConfig) -> None:
    from gsv_edge.edge.serve.service import Limits, Service

    limits = Limits(config.max_streams, config.queue, config.deadline_s)
    service = Service(synth, limits, fixed_tokens=config.fixed_tokens)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Wyoming first: once /health answers, every listener is up.
    wyoming = await _start_wyoming(service, config) if config.wyoming is not None else None
    http = await _start_http(service, config) if config.http is not None else None
    announced = await _announce(config) if config.zeroconf is not None else None
    where = [f"http://{config.http}" if http else None, config.wyoming if wyoming else None]
    LOG.info(
        "serving %s on %s: %d voices, %d streams at once (GPT steps %s), %d may wait; ready",
        config.pack, ", ".join(w for w in where if w), len(service.voices()), limits.max_streams,
        "batched" if synth.engine.batcher is not None else "per stream", limits.queue,
    )  # fmt: skip
    waits = [asyncio.ensure_future(stop.wait())] + ([http[1]] if http else [])
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)  # a signal, or the HTTP server failed
    LOG.info("stopping: new requests are refused, %d in flight get %.0f s", service.streams_active,
             config.drain_timeout_s)  # fmt: skip
    service.draining = True
    if wyoming is not None:
        wyoming._server.close()  # no new connections; open ones are stopped after the drain
    if http is not None:
        http[0].should_exit = True  # uvicorn closes its listener and waits for the responses in flight
    finished = await service.drain(config.drain_timeout_s)
    if http is not None:
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await http[1]
    if wyoming is not None:
        await wyoming.stop()
    if announced is not None:
        with contextlib.suppress(Exception):
            await announced._aiozc.async_close()  # best effort (the helper has no close): the process is ending
    service.close()
    LOG.info("stopped: %s", "every request finished" if finished else "requests still running were cancelled")


async def _start_http(service, config: ServeConfig):
    """uvicorn on the app, in this event loop; its signal handling left to ``_serve``."""
    import uvicorn

    from gsv_edge.edge.serve.http_app import create_app

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # _serve handles SIGTERM and SIGINT for both protocols
            yield

    host, port = parse_http(config.http)
    app = create_app(service, config.api_key)
    grace = config.drain_timeout_s + 5  # after the drain, responses end at once; this is a backstop
    settings = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
                              timeout_graceful_shutdown=grace, server_header=False)  # fmt: skip
    server = _Server(settings)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise GsvEdgeError(f"cannot serve HTTP on {config.http} (is the port in use?); choose another with --http")
        await asyncio.sleep(0.05)
    return server, task


async def _start_wyoming(service, config: ServeConfig):
    from wyoming.server import AsyncServer

    from gsv_edge.edge.serve.wyoming_handler import WyomingHandler

    server = AsyncServer.from_uri(config.wyoming)
    try:
        await server.start(functools.partial(WyomingHandler, service))
    except OSError as err:
        raise GsvEdgeError(f"cannot serve Wyoming on {config.wyoming} ({err.strerror or err}); choose another "
                           "with --wyoming") from None  # fmt: skip
    return server


async def _announce(config: ServeConfig):
    """Announce the Wyoming server to Home Assistant over zeroconf (the wyoming package's helper)."""
    try:
        from wyoming.zeroconf import HomeAssistantZeroconf
    except ImportError:
        raise GsvEdgeError("--zeroconf needs the zeroconf package: pip install zeroconf") from None
    _, host, port = parse_wyoming(config.wyoming)
    announced = HomeAssistantZeroconf(name=config.zeroconf, port=port, host=None if host == "0.0.0.0" else host)
    await announced.register_server()
    return announced


def _setup_logging() -> None:
    """One line per event on stderr (journald keeps it under systemd)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
