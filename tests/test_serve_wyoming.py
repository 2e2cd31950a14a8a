"""`gsv-edge serve` over Wyoming, with the wyoming package's own TCP client against a real server subprocess on
loopback: describe, synthesize (first audio while the GPT is still running), streaming text input, errors."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from tests.serve_support import (
    LONG_TEXT,
    SEGMENT_SAMPLES,
    TOKENS,
    Server,
    enroll,
    gauge,
    requests_total,
    wait_for,
)

TIMEOUT = 120


@pytest.fixture(scope="module")
def server(runtime_pack, reference_clip, tmp_path_factory):
    work = tmp_path_factory.mktemp("serve-wyoming")
    enroll(runtime_pack, work / "voices", reference_clip)
    started = Server(runtime_pack, work / "voices", work / "server.log")
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def client(server: Server) -> AsyncTcpClient:
    return AsyncTcpClient("127.0.0.1", server.wyoming_port)


async def read_until(connection: AsyncTcpClient, *types: str) -> list[Event]:
    """Events up to and including the first of one of ``types``."""
    events = []
    while True:
        event = await connection.read_event()
        assert event is not None, "the server closed the connection"
        events.append(event)
        if event.type in types:
            return events


def samples_in(events: list[Event]) -> int:
    return sum(AudioChunk.from_event(e).samples for e in events if AudioChunk.is_type(e.type))


def test_describe_lists_the_voices_as_they_are_now(server):
    async def describe() -> Info:
        async with client(server) as connection:
            await connection.write_event(Describe().event())
            return Info.from_event((await read_until(connection, "info"))[-1])

    (program,) = run(describe()).tts
    assert program.name == "gsv-edge" and program.supports_synthesize_streaming
    (alice,) = program.voices
    assert alice.name == "alice" and alice.languages == ["zh", "en", "ja"] and alice.installed
    # a voice added while serving (here: alice's files under another name) shows up at the next describe
    shutil.copy(server.voices / "alice.npz", server.voices / "bob.npz")
    try:
        assert [v.name for v in run(describe()).tts[0].voices] == ["alice", "bob"]
    finally:
        (server.voices / "bob.npz").unlink()


def test_synthesize_streams_audio_while_the_gpt_is_still_running(server):
    async def synthesize():
        async with client(server) as connection:
            await connection.write_event(Synthesize(LONG_TEXT, voice=SynthesizeVoice("alice")).event())
            start = await connection.read_event()
            first = await connection.read_event()
            # the first audio is here before the first sentence's tokens are all made: its stream is still running
            during = await asyncio.to_thread(server.metrics)
            rest = await read_until(connection, "audio-stop", "error")
            return start, first, during, rest

    before = server.metrics()
    start, first, during, rest = run(synthesize())
    assert AudioStart.is_type(start.type)
    audio_format = AudioStart.from_event(start)
    assert (audio_format.rate, audio_format.width, audio_format.channels) == (32000, 2, 1)
    assert AudioChunk.is_type(first.type)
    assert gauge(during, "gsv_streams_active") == 1
    steps = during[("gsv_gpt_step_seconds_count", ())] - before[("gsv_gpt_step_seconds_count", ())]
    assert steps < TOKENS
    assert rest[-1].type == "audio-stop"
    assert samples_in([first, *rest]) == 3 * SEGMENT_SAMPLES  # three segments
    after = server.metrics()
    assert requests_total(after, "wyoming", "ok") - requests_total(before, "wyoming", "ok") == 1


def test_streamed_text_is_spoken_sentence_by_sentence_as_it_arrives(server):
    async def stream():
        async with client(server) as connection:
            await connection.write_event(SynthesizeStart(voice=SynthesizeVoice("alice")).event())
            for piece in ("Hello the", "re, my friend. How are"):
                await connection.write_event(SynthesizeChunk(piece).event())
            # the first sentence is complete: its audio comes while the rest of the text has not been sent
            early = await read_until(connection, "audio-chunk")
            for piece in (" you today? Fine", " thanks"):
                await connection.write_event(SynthesizeChunk(piece).event())
            # Home Assistant also sends the whole text as a plain synthesize inside a stream: not spoken twice
            whole = "Hello there, my friend. How are you today? Fine thanks"
            await connection.write_event(Synthesize(whole, voice=SynthesizeVoice("alice")).event())
            await connection.write_event(SynthesizeStop().event())
            return early + await read_until(connection, "synthesize-stopped")

    events = run(stream())
    types = [e.type for e in events if e.type != "audio-chunk"]
    assert types == ["audio-start", "audio-stop"] * 3 + ["synthesize-stopped"]  # three sentences
    pieces, current = [], None
    for event in events:
        if event.type == "audio-start":
            current = []
        elif event.type == "audio-chunk":
            current.append(event)
        elif event.type == "audio-stop":
            pieces.append(samples_in(current))
    assert pieces == [SEGMENT_SAMPLES] * 3


def test_an_unknown_voice_gets_an_error_event_and_the_connection_stays_usable(server):
    async def ask():
        async with client(server) as connection:
            await connection.write_event(Synthesize("Hello.", voice=SynthesizeVoice("nobody")).event())
            error = (await read_until(connection, "error", "audio-start"))[-1]
            await connection.write_event(Synthesize("", voice=SynthesizeVoice("alice")).event())
            empty = (await read_until(connection, "error", "audio-start"))[-1]
            await connection.write_event(Describe().event())
            info = (await read_until(connection, "info"))[-1]
            return error, empty, info

    error, empty, info = run(ask())
    assert Error.is_type(error.type)
    assert Error.from_event(error).code == "voice-not-found" and "nobody" in Error.from_event(error).text
    assert Error.is_type(empty.type) and "no speakable text" in Error.from_event(empty).text
    assert info.type == "info"


def test_a_client_that_disconnects_mid_stream_frees_it(server):
    before = server.metrics()

    async def leave_early():
        connection = client(server)
        await connection.connect()
        await connection.write_event(Synthesize(LONG_TEXT, voice=SynthesizeVoice("alice")).event())
        await read_until(connection, "audio-chunk")
        await connection.disconnect()

    run(leave_early())

    wait_for(lambda: gauge(server.metrics(), "gsv_streams_active") == 0, timeout=20, what="the stream to stop")
    after = server.metrics()
    assert requests_total(after, "wyoming", "cancelled") - requests_total(before, "wyoming", "cancelled") == 1
    steps = after[("gsv_gpt_step_seconds_count", ())] - before[("gsv_gpt_step_seconds_count", ())]
    assert steps < 2 * TOKENS
