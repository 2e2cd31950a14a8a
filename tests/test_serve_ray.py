"""`gsv-edge serve --ray` on a real local Ray cluster (2 CPUs, no dashboard), with httpx over loopback: streaming
through the ingress, the same tokens and audio as the local runtime, traffic on both GPT replicas, and a replica
killed mid-stream (a clean error, then the next request is served). One cluster and one deployment for the module,
on the tiny pack; the cluster is shut down at the end (its idle processes cost CPU)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import subprocess
import sys

import httpx
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, missing
from tests.serve_support import LONG_TEXT, SEGMENT_SAMPLES, SENTENCE, TOKENS, Server, enroll

APP = "gsv-edge"


@pytest.fixture(scope="module")
def ray_server(runtime_pack, reference_clip, tmp_path_factory):
    """A local cluster started here, and `gsv-edge serve --ray` deployed onto it: 2 T2S replicas, 1 Vocoder."""
    try:
        import ray
    except ImportError:
        missing("Ray Serve is not installed: pip install -e '.[cluster]'")
    work = tmp_path_factory.mktemp("serve-ray")
    voices = work / "voices"
    enroll(runtime_pack, voices, reference_clip)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    address = ray.get_runtime_context().gcs_address
    server = Server(runtime_pack, voices, work / "ray.log", "--ray", "--ray-address", address, "--t2s-replicas", "2",
                    "--replica-cpus", "0.5", wyoming=False)  # fmt: skip
    try:
        server.wait_ready(timeout=180)
        yield server
    finally:
        server.stop()
        ray.shutdown()


def _body(**fields) -> dict:
    return {"model": "tts-1", "input": SENTENCE, "voice": "alice", "seed": 1, "response_format": "pcm", **fields}


def _sse_events(response: httpx.Response):
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def _local_stream(runtime_pack, voices, seed: int):
    from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer

    synth = Synthesizer.load(runtime_pack, voices_dir=voices)
    options = SpeechOptions(seed=seed, fixed_length=lambda segment: TOKENS)
    return synth.open_stream(SENTENCE, synth.voice("alice"), "auto", options)


def _t2s_replicas() -> dict[str, int]:
    """Each T2S replica's tag and the segments it has served so far (the calls land on either replica at random)."""
    from ray import serve

    handle = serve.get_deployment_handle("T2S", app_name=APP)
    seen: dict[str, int] = {}
    for _ in range(40):
        tag, served = handle.replica.remote().result(timeout_s=30)
        seen[tag] = served
        if len(seen) == 2:
            break
    return seen


def test_the_ingress_streams_the_same_tokens_and_audio_as_the_local_runtime(ray_server, runtime_pack):
    from ray import serve

    from gsv_edge.edge.serve.audio_formats import pcm16

    received, pieces = b"", 0
    with httpx.stream("POST", f"{ray_server.url}/v1/audio/speech", json=_body(seed=7), timeout=120) as response:
        assert response.status_code == 200
        for piece in response.iter_raw():
            received, pieces = received + piece, pieces + 1
    with _local_stream(runtime_pack, ray_server.voices, seed=7) as speech:
        local = b"".join(pcm16(chunk.samples) for chunk in speech)
        local_tokens = speech.tokens
    got, expected = np.frombuffer(received, "<i2"), np.frombuffer(local, "<i2")
    assert len(got) == len(expected) == SEGMENT_SAMPLES
    # the same tokens vocoded by the same streamer with the same noise: equal up to the backends' rounding
    assert np.abs(got.astype(np.int32) - expected).max() <= 2

    # the tokens themselves, from the T2S deployment given the local stream's inputs
    handle = serve.get_deployment_handle("T2S", app_name=APP).options(stream=True)
    with _local_stream(runtime_pack, ray_server.voices, seed=7) as speech:
        for job in speech.segment_jobs():
            cluster_tokens = [token for batch in handle.generate.remote(job) for token in batch]
            assert cluster_tokens == local_tokens[job.index] and len(cluster_tokens) == TOKENS

    # SSE through the cluster: the same bytes as deltas, and the token count in the usage
    with httpx.stream("POST", f"{ray_server.url}/v1/audio/speech", json=_body(seed=7, stream_format="sse"),
                      timeout=120) as response:  # fmt: skip
        *deltas, done = list(_sse_events(response))
    assert b"".join(base64.b64decode(event["audio"]) for event in deltas) == received
    assert done["type"] == "speech.audio.done" and done["usage"]["output_tokens"] == TOKENS


def test_bad_requests_get_the_plain_servers_json_errors(ray_server):
    response = httpx.post(f"{ray_server.url}/v1/audio/speech", json=_body(voice="nobody"), timeout=60)
    assert response.status_code == 404 and "no voice 'nobody'" in response.json()["error"]["message"]
    response = httpx.post(f"{ray_server.url}/v1/audio/speech", json=_body(speed=5), timeout=60)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_both_t2s_replicas_receive_traffic(ray_server):
    before = _t2s_replicas()
    assert len(before) == 2
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # two at a time: the router spreads them by queue length
        statuses = list(pool.map(lambda seed: httpx.post(f"{ray_server.url}/v1/audio/speech", json=_body(seed=seed),
                                                         timeout=120).status_code, range(6)))  # fmt: skip
    assert statuses == [200] * 6
    after = _t2s_replicas()
    assert set(after) == set(before) and all(after[tag] > before[tag] for tag in before), (before, after)


def test_a_replica_killed_mid_stream_gives_a_clean_error_and_the_next_request_succeeds(ray_server):
    import ray

    events = []
    body = _body(input=LONG_TEXT, seed=5, stream_format="sse")  # three segments: the kill lands while it speaks
    with httpx.stream("POST", f"{ray_server.url}/v1/audio/speech", json=body, timeout=120) as response:
        assert response.status_code == 200
        stream = _sse_events(response)
        events.append(next(stream))
        assert events[0]["type"] == "speech.audio.delta"
        replicas = [actor for actor in ray.util.list_named_actors(all_namespaces=True)
                    if actor["name"].startswith("SERVE_REPLICA::") and ("#T2S#" in actor["name"]
                                                                         or "#Vocoder#" in actor["name"])]  # fmt: skip
        assert len(replicas) == 3
        for actor in replicas:  # every GPT and vocoder replica: whichever holds this request's segment
            ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]), no_restart=True)
        events += list(stream)
    assert events[-1]["type"] == "error", [event["type"] for event in events]
    assert "replica failed" in events[-1]["error"]["message"] and events[-1]["error"]["type"] == "server_busy"
    # Serve starts new replicas; the next request is served in full
    response = httpx.post(f"{ray_server.url}/v1/audio/speech", json=_body(seed=6), timeout=120)
    assert response.status_code == 200 and len(response.content) == 2 * SEGMENT_SAMPLES
    assert len(_t2s_replicas()) == 2


def test_the_serve_config_file_is_a_valid_serve_config_for_these_deployments():
    """deploy/ray/serve.yaml passes Ray Serve's own schema, imports the application builder, configures the
    deployments it builds, and its args are ClusterConfig's fields."""
    try:
        import yaml
        from ray.serve.schema import ServeDeploySchema
    except ImportError:
        missing("Ray Serve is not installed: pip install -e '.[cluster]'")
    from gsv_edge.edge.serve import ray_app

    config = ServeDeploySchema.model_validate(yaml.safe_load((REPO_ROOT / "deploy/ray/serve.yaml").read_text()))
    (application,) = config.applications
    module, _, name = application.import_path.partition(":")
    assert module == ray_app.__name__ and getattr(ray_app, name) is ray_app.build_app
    assert {d.name for d in application.deployments} == {"T2S", "Vocoder", "Ingress"}
    built = ray_app.build_app(application.args)  # unknown or missing args would raise here
    assert built._bound_deployment.name == "Ingress"
    assert config.http_options.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--wyoming", "tcp://127.0.0.1:10300"], "HTTP only"),
        (["--http", "off"], "--http HOST:PORT"),
        (["--http", "0.0.0.0:8000"], "--api-key"),
        (["--t2s-replicas", "0"], "--t2s-replicas 0"),
        (["--ray-address", "127.0.0.1:1"], "no Ray cluster answers there"),
        ([], "not a gsv-edge pack"),
    ],
)
def test_bad_ray_options_are_a_one_line_error_before_any_cluster_starts(tmp_path, args, fragment):
    done = subprocess.run([sys.executable, "-m", "gsv_edge.edge.cli", "serve", "--pack", str(tmp_path), "--ray",
                           *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)  # fmt: skip
    assert done.returncode == 2 and fragment in done.stderr and "Traceback" not in done.stderr, done.stderr
