"""Wyoming on a Unix socket (`--wyoming unix:///path`): describe and synthesize work over it as over TCP."""

from __future__ import annotations

import asyncio

import pytest
from wyoming.client import AsyncUnixClient
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

from tests.serve_support import Server, enroll


@pytest.fixture(scope="module")
def server(runtime_pack, reference_clip, tmp_path_factory):
    work = tmp_path_factory.mktemp("serve-limits")
    enroll(runtime_pack, work / "voices", reference_clip)
    socket_path = work / "wyoming.sock"
    started = Server(runtime_pack, work / "voices", work / "server.log", "--wyoming", f"unix://{socket_path}",
                     wyoming=False)  # fmt: skip
    started.socket_path = socket_path
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def test_wyoming_over_a_unix_socket(server):
    async def describe_and_speak():
        async with AsyncUnixClient(str(server.socket_path)) as connection:
            await connection.write_event(Describe().event())
            while (event := await connection.read_event()).type != "info":
                pass
            voices = [voice.name for voice in Info.from_event(event).tts[0].voices]
            await connection.write_event(Synthesize("你好。", voice=SynthesizeVoice("alice")).event())
            types = []
            while (event := await connection.read_event()).type != "audio-stop":
                types.append(event.type)
            return voices, types

    voices, types = asyncio.run(asyncio.wait_for(describe_and_speak(), 120))
    assert voices == ["alice"]
    assert types[0] == "audio-start" and "audio-chunk" in types
