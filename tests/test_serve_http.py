"""`gsv-edge serve` over HTTP, with httpx against a real server subprocess on loopback: every endpoint, each
response format, streaming and SSE, errors, the API key, metrics, concurrency, disconnects and SIGTERM."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import signal
import subprocess
import sys

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO_ROOT
from tests.serve_support import (
    LONG_TEXT,
    RATE,
    SEGMENT_SAMPLES,
    SENTENCE,
    TOKENS,
    Server,
    enroll,
    free_port,
    gauge,
    requests_total,
    wait_for,
)

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def servers(runtime_pack, reference_clip, tmp_path_factory):
    """Two servers on the tiny pack: an open one (3 streams, 1 may wait) and one with an API key (its own voice
    folder, which its tests change; no drain time, so SIGTERM has something to cancel)."""
    work = tmp_path_factory.mktemp("serve-http")
    open_voices, keyed_voices = work / "voices", work / "keyed-voices"
    enroll(runtime_pack, open_voices, reference_clip)
    shutil.copytree(open_voices, keyed_voices)
    started = {
        "open": Server(runtime_pack, open_voices, work / "open.log", "--max-streams", "3", "--queue", "1",
                       wyoming=False),
        "keyed": Server(runtime_pack, keyed_voices, work / "keyed.log", "--api-key", KEY, "--drain-timeout", "0",
                        wyoming=False),
    }  # fmt: skip
    try:
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def server(servers) -> Server:
    return servers["open"]


@pytest.fixture(scope="module")
def keyed(servers) -> Server:
    return servers["keyed"]


def speech(server: Server, headers: dict | None = None, **fields) -> httpx.Response:
    body = {"model": "tts-1", "input": SENTENCE, "voice": "alice", "seed": 1, **fields}
    return httpx.post(f"{server.url}/v1/audio/speech", json=body, headers=headers, timeout=120)


def pcm_samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2")


# --- endpoints --------------------------------------------------------------------------------------------


def test_health_models_and_voices(server):
    health = httpx.get(f"{server.url}/health").json()
    assert health["status"] == "ok" and health["max_streams"] == 3 and health["queue"] == 1
    models = httpx.get(f"{server.url}/v1/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["gsv-edge"]
    assert httpx.get(f"{server.url}/v1/audio/voices").json() == {
        "voices": [{"id": "alice", "name": "alice", "languages": ["zh"]}]
    }


@pytest.mark.parametrize(
    ("fmt", "content_type", "rate"),
    [("wav", "audio/wav", RATE), ("pcm", "audio/pcm", RATE), ("flac", "audio/flac", RATE),
     ("mp3", "audio/mpeg", RATE), ("opus", "audio/ogg; codecs=opus", 48000)],
)  # fmt: skip
def test_each_response_format_decodes_to_the_expected_length(server, fmt, content_type, rate):
    response = speech(server, response_format=fmt)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    if fmt == "pcm":
        samples, got_rate = pcm_samples(response.content), RATE
    else:
        samples, got_rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert got_rate == rate
    expected = SEGMENT_SAMPLES * rate // RATE  # one segment of TOKENS tokens and its pause
    if fmt in ("mp3", "opus"):  # lossy codecs pad to whole frames (1152 samples for MP3, 20 ms for Opus)
        assert abs(len(samples) - expected) <= 1152
    else:
        assert len(samples) == expected
    assert np.abs(samples).max() > 0.01  # audio, not silence


def test_a_streamed_response_starts_before_generation_ends(server):
    steps_before = server.metrics()[("gsv_gpt_step_seconds_count", ())]
    body = {"model": "tts-1", "input": LONG_TEXT, "voice": "alice", "seed": 2, "response_format": "pcm"}
    received = b""
    with httpx.stream("POST", f"{server.url}/v1/audio/speech", json=body, timeout=120) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        while not received:
            received += next(chunks)
        # the first audio is here: the stream is still being generated, with most of its GPT steps to come
        during = server.metrics()
        assert gauge(during, "gsv_streams_active") == 1
        assert during[("gsv_gpt_step_seconds_count", ())] - steps_before < 3 * TOKENS
        for chunk in chunks:
            received += chunk
    assert len(pcm_samples(received)) == 3 * SEGMENT_SAMPLES  # three segments of four sentences
    wait_for(lambda: gauge(server.metrics(), "gsv_streams_active") == 0, what="the stream to end")


def test_sse_sends_the_same_audio_as_deltas_and_a_done_event(server):
    plain = speech(server, response_format="pcm", seed=3).content
    events = []
    with httpx.stream("POST", f"{server.url}/v1/audio/speech", timeout=120, json={
        "model": "tts-1", "input": SENTENCE, "voice": "alice", "seed": 3, "response_format": "pcm",
        "stream_format": "sse",
    }) as response:  # fmt: skip
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    *deltas, done = events
    assert deltas and all(event["type"] == "speech.audio.delta" for event in deltas)
    assert b"".join(base64.b64decode(event["audio"]) for event in deltas) == plain
    assert done["type"] == "speech.audio.done" and done["usage"]["output_tokens"] == TOKENS


# --- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"input": "x" * 70_000}, 413, "over 64 KiB"),
        ({"input": "a" * 4097}, 400, "input"),
        ({"voice": "nobody"}, 404, "no voice 'nobody'"),
        ({"voice": "../../etc/passwd"}, 400, "not allowed"),
        ({"response_format": "aac"}, 400, "'aac'"),
        ({"response_format": "flac", "stream_format": "sse"}, 400, "sse"),
        ({"speed": 5}, 400, "speed"),
        ({"input": ""}, 400, "input"),
        ({"input": "。。。"}, 400, "no speakable text"),
        ({"language": "klingon"}, 400, "klingon"),
    ],
)
def test_bad_requests_get_a_4xx_json_error(server, body, status, fragment):
    response = speech(server, **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert fragment in error["message"] and error["type"] and "Traceback" not in response.text


def test_malformed_json_and_unknown_routes_get_json_errors(server):
    broken = httpx.post(f"{server.url}/v1/audio/speech", content=b'{"input": ', timeout=30,
                        headers={"content-type": "application/json"})  # fmt: skip
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    # a body that does not say its length (chunked) is cut off at the limit all the same
    chunked = httpx.post(f"{server.url}/v1/audio/speech", content=iter([b'{"input": "' + b"a" * 40_000, b"a" * 40_000]),
                         headers={"content-type": "application/json"}, timeout=30)  # fmt: skip
    assert chunked.status_code == 413 and chunked.json()["error"]["type"] == "request_too_large"
    missing = httpx.get(f"{server.url}/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    wrong_method = httpx.get(f"{server.url}/v1/audio/speech")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def test_metrics_count_the_requests_made(server):
    before = server.metrics()
    assert speech(server, response_format="pcm", seed=4).status_code == 200
    assert speech(server, response_format="wav", seed=5).status_code == 200
    assert speech(server, voice="nobody").status_code == 404
    assert httpx.post(f"{server.url}/v1/audio/speech", content=b"[", headers={"content-type": "application/json"}
                      ).status_code == 400  # fmt: skip
    after = server.metrics()

    def grew(key) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert requests_total(after, "http", "ok") - requests_total(before, "http", "ok") == 2
    assert requests_total(after, "http", "bad_request") - requests_total(before, "http", "bad_request") == 2
    assert grew(("gsv_request_duration_seconds_count", (("protocol", "http"),))) == 2
    assert grew(("gsv_time_to_first_audio_seconds_count", (("protocol", "http"),))) == 2
    assert grew(("gsv_queue_wait_seconds_count", ())) == 2
    assert grew(("gsv_audio_seconds_total", ())) == pytest.approx(2 * SEGMENT_SAMPLES / RATE)
    assert grew(("gsv_gpt_step_seconds_count", ())) >= 2 * TOKENS
    assert grew(("gsv_vocoder_chunk_seconds_count", ())) > 0 and grew(("gsv_synthesis_seconds_total", ())) > 0
    assert gauge(after, "gsv_requests_waiting") == 0 and gauge(after, "gsv_gpt_batch_size") == 1
    assert any(name == "gsv_build_info" for name, _ in after)
    assert ("process_resident_memory_bytes", ()) in after


# --- several at once ------------------------------------------------------------------------------------


async def _post_all(server: Server, bodies: list[dict], first_bytes_only: bool = False) -> list[tuple[int, bytes]]:
    async with httpx.AsyncClient(base_url=server.url, timeout=180) as client:

        async def one(body: dict) -> tuple[int, bytes]:
            async with client.stream("POST", "/v1/audio/speech", json=body) as response:
                data = b""
                async for chunk in response.aiter_raw():
                    data += chunk
                    if first_bytes_only and response.status_code == 200:
                        break
                return response.status_code, data if response.status_code == 200 else response.headers

        return await asyncio.gather(*(one(body) for body in bodies))


def test_four_concurrent_requests_give_the_same_audio_as_solo_runs(server):
    bodies = [{"model": "tts-1", "input": SENTENCE, "voice": "alice", "seed": seed, "response_format": "pcm"}
              for seed in (11, 12, 13, 14)]  # fmt: skip
    solo = [speech(server, **{k: v for k, v in body.items() if k != "model"}).content for body in bodies]
    waited_before = server.metrics()[("gsv_queue_wait_seconds_count", ())]
    together = asyncio.run(_post_all(server, bodies))  # three streams at once, the fourth waits for a slot
    assert [status for status, _ in together] == [200] * 4
    assert len({audio for audio in solo}) == 4  # four seeds, four different utterances
    for (_, audio), alone in zip(together, solo, strict=True):
        assert audio == alone  # same seed, same tokens, same noise: the same bytes, alone or under load
    assert server.metrics()[("gsv_queue_wait_seconds_count", ())] - waited_before == 4


def test_a_full_server_refuses_with_503_and_retry_after(server):
    bodies = [{"model": "tts-1", "input": LONG_TEXT, "voice": "alice", "seed": s, "response_format": "pcm"}
              for s in range(5)]  # fmt: skip
    results = asyncio.run(_post_all(server, bodies, first_bytes_only=True))  # 3 run, 1 waits, 1 is refused
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 200, 200, 503], statuses
    refused = next(headers for status, headers in results if status == 503)
    assert int(refused["retry-after"]) >= 1
    wait_for(lambda: gauge(server.metrics(), "gsv_streams_active") == 0, what="the cancelled streams to stop")


def test_a_client_that_disconnects_frees_its_stream(server):
    before = server.metrics()
    body = {"model": "tts-1", "input": LONG_TEXT, "voice": "alice", "seed": 7, "response_format": "pcm"}
    with httpx.stream("POST", f"{server.url}/v1/audio/speech", json=body, timeout=120) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()  # held: a dropped iterator closes the connection
        next(chunks)
        assert gauge(server.metrics(), "gsv_streams_active") == 1
    # the connection is closed: the stream stops at its next GPT step and gives its slot back
    wait_for(lambda: gauge(server.metrics(), "gsv_streams_active") == 0, timeout=20, what="the stream to stop")
    after = server.metrics()
    assert requests_total(after, "http", "cancelled") - requests_total(before, "http", "cancelled") == 1
    steps = after[("gsv_gpt_step_seconds_count", ())] - before[("gsv_gpt_step_seconds_count", ())]
    assert steps < 2 * TOKENS  # it stopped long before its three segments were generated


# --- the API key, voices over HTTP, the bind rule, SIGTERM ------------------------------------------------


def test_an_api_key_is_refused_when_missing_or_wrong_and_accepted_when_right(keyed):
    for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        refused = httpx.get(f"{keyed.url}/v1/audio/voices", headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"
        assert speech(keyed, headers=headers).status_code == 401
    assert httpx.get(f"{keyed.url}/health").status_code == 200  # for health checks, without the key
    assert httpx.get(f"{keyed.url}/v1/audio/voices", headers=AUTH).json()["voices"][0]["id"] == "alice"
    assert speech(keyed, headers=AUTH, response_format="pcm").status_code == 200
    assert "gsv_requests_total" in httpx.get(f"{keyed.url}/metrics", headers=AUTH).text


def test_voices_are_managed_over_http_only_with_a_key(server, keyed, reference_clip):
    form = {"name": "bob", "transcript": "今天天气很好", "language": "zh"}
    with open(reference_clip, "rb") as clip:
        refused = httpx.post(f"{server.url}/v1/voices", data=form, files={"clip": clip}, timeout=60)
    assert refused.status_code == 403 and "--api-key" in refused.json()["error"]["message"]
    with open(reference_clip, "rb") as clip:
        added = httpx.post(f"{keyed.url}/v1/voices", data=form, files={"clip": ("ref.wav", clip)}, headers=AUTH,
                           timeout=120)  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json() == {"id": "bob", "name": "bob", "languages": ["zh"]}
    listed = httpx.get(f"{keyed.url}/v1/audio/voices", headers=AUTH).json()["voices"]
    assert [v["id"] for v in listed] == ["alice", "bob"]
    assert speech(keyed, headers=AUTH, voice="bob", response_format="pcm").status_code == 200
    with open(reference_clip, "rb") as clip:
        again = httpx.post(f"{keyed.url}/v1/voices", data=form, files={"clip": clip}, headers=AUTH, timeout=60)
    assert again.status_code == 409
    bad = httpx.delete(f"{keyed.url}/v1/voices/..%2F..%2Fevil", headers=AUTH)
    assert bad.status_code in (400, 404) and "error" in bad.json()
    assert httpx.delete(f"{keyed.url}/v1/voices/bob", headers=AUTH).json() == {"id": "bob", "deleted": True}
    assert httpx.delete(f"{keyed.url}/v1/voices/bob", headers=AUTH).status_code == 404
    assert speech(keyed, headers=AUTH, voice="bob").status_code == 404


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--http", "0.0.0.0:{port}", "--wyoming", "off"], "--api-key"),
        (["--http", "off", "--wyoming", "tcp://0.0.0.0:{port}"], "--no-auth"),
        (["--http", "off", "--wyoming", "off"], "at least one"),
    ],
)
def test_a_bind_beyond_loopback_without_a_key_is_refused_at_start(runtime_pack, args, fragment):
    port = str(free_port())
    command = [sys.executable, "-m", "gsv_edge.edge.cli", "serve", "--pack", str(runtime_pack),
               *(a.replace("{port}", port) for a in args)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(REPO_ROOT)})  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], done.stderr


def test_sigterm_cancels_what_runs_and_exits_cleanly(keyed):
    """The last test of the module: it stops the keyed server (drain timeout 0: what runs is cancelled)."""
    voices_before = sorted(p.name for p in keyed.voices.iterdir())
    body = {"model": "tts-1", "input": LONG_TEXT, "voice": "alice", "seed": 8, "response_format": "pcm"}
    received = b""
    with httpx.stream("POST", f"{keyed.url}/v1/audio/speech", json=body, headers=AUTH, timeout=120) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        received += next(chunks)
        keyed.process.send_signal(signal.SIGTERM)
        for chunk in chunks:
            received += chunk
    assert keyed.process.wait(30) == 0
    assert len(pcm_samples(received)) < 3 * SEGMENT_SAMPLES  # cut short by the shutdown, not left hanging
    log = keyed.log.read_text()
    assert "requests still running were cancelled" in log and "Traceback" not in log
    assert sorted(p.name for p in keyed.voices.iterdir()) == voices_before  # nothing half-written
