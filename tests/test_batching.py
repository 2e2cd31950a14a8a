"""Batched GPT decode (runtime.batching): streams in one batch choose exactly the tokens they choose alone, join
and leave without disturbing each other, leave at the next step when cancelled, and hold only their own KV rows.

Solo runs use an engine without batching (each stream its own GPT session), the path `gsv-edge say` takes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from gsv_edge.runtime.enroll import enroll_voice
from gsv_edge.runtime.scheduling import ComputeLock
from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
from gsv_edge.runtime.voices import save_voice

TEXTS = ["你好，世界。今天很好。", "我们一起去公园散步。", "Hello there, how are you today?", "天气非常好，然后喝茶。"]
OPTIONS = [
    SpeechOptions(seed=1),
    SpeechOptions(seed=2, top_k=3, temperature=0.7),
    SpeechOptions(seed=3, repetition_penalty=1.0, top_p=0.8),
    SpeechOptions(seed=4, top_k=20, temperature=1.3),
]


@pytest.fixture(scope="module")
def voices(runtime_pack, reference_clip, tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch-voices")
    synth = Synthesizer.load(runtime_pack, voices_dir=folder)
    save_voice(enroll_voice(synth.engine, "v", reference_clip, "今天天气很好", "zh"), folder)
    return folder


@pytest.fixture(scope="module")
def solo(runtime_pack, voices):
    return Synthesizer.load(runtime_pack, voices_dir=voices)


@pytest.fixture(scope="module")
def batched(runtime_pack, voices):
    synth = Synthesizer.load(runtime_pack, voices_dir=voices)
    assert synth.engine.enable_batching() is None
    yield synth
    synth.engine.disable_batching()


def tokens_of(synth, text, options):
    with synth.open_stream(text, synth.voice("v"), "auto", options) as speech:
        for _ in speech:
            pass
        return speech.tokens


def in_threads(jobs):
    """Run each job in a thread of its own (started 10 ms apart); their results in order."""
    results, errors = [None] * len(jobs), []

    def run(index, job):
        try:
            results[index] = job()
        except Exception as err:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return results


def test_concurrent_streams_choose_their_solo_tokens(solo, batched):
    expected = [tokens_of(solo, text, options) for text, options in zip(TEXTS, OPTIONS, strict=True)]
    batcher = batched.engine.batcher
    steps, peak = batcher.steps, batcher.peak_rows
    jobs = [lambda t=text, o=options: tokens_of(batched, t, o) for text, options in zip(TEXTS, OPTIONS, strict=True)]
    got = in_threads(jobs)
    assert got == expected
    assert all(sum(map(len, tokens)) > 10 for tokens in got)
    assert batcher.steps > steps and max(batcher.peak_rows, peak) >= 3, "the streams did not share the batch"
    assert batcher.rows == 0


def test_streams_joining_and_leaving_mid_batch_do_not_disturb_others(solo, batched):
    """A long stream; a short one joins after it started and leaves while it runs; a third joins after that."""
    long_options = SpeechOptions(seed=11, fixed_length=lambda segment: 90)
    short_options = SpeechOptions(seed=12, fixed_length=lambda segment: 12)
    late_options = SpeechOptions(seed=13)
    expected = [
        tokens_of(solo, TEXTS[0], long_options),
        tokens_of(solo, TEXTS[1], short_options),
        tokens_of(solo, TEXTS[3], late_options),
    ]
    batcher = batched.engine.batcher
    started = threading.Event()
    result = {}

    def long_stream():
        with batched.open_stream(TEXTS[0], batched.voice("v"), "auto", long_options) as speech:
            for _ in speech:
                if sum(map(len, speech.tokens)) >= 15:
                    started.set()
            result["long"] = speech.tokens

    thread = threading.Thread(target=long_stream)
    thread.start()
    assert started.wait(120)
    result["short"] = tokens_of(batched, TEXTS[1], short_options)  # joins mid-run of the long one, leaves first
    result["late"] = tokens_of(batched, TEXTS[3], late_options)
    thread.join(300)
    assert [result["long"], result["short"], result["late"]] == expected
    assert batcher.peak_rows >= 2


def test_a_cancelled_stream_leaves_the_batch_at_the_next_step(solo, batched):
    keep = SpeechOptions(seed=21, fixed_length=lambda segment: 80)
    expected = tokens_of(solo, TEXTS[2], keep)
    batcher = batched.engine.batcher
    doomed = batched.open_stream(TEXTS[0], batched.voice("v"), "auto", SpeechOptions(seed=22,
                                 fixed_length=lambda segment: 400))  # fmt: skip
    left = {}

    def doomed_stream():
        with doomed:
            for _ in doomed:
                pass
        left["tokens"] = sum(map(len, doomed.tokens))

    thread = threading.Thread(target=doomed_stream)
    thread.start()
    kept = {}
    other = threading.Thread(target=lambda: kept.setdefault("tokens", tokens_of(batched, TEXTS[2], keep)))
    other.start()
    deadline = time.monotonic() + 120
    while batcher.rows < 2 and time.monotonic() < deadline:
        time.sleep(0.002)
    assert batcher.rows == 2, "both streams should be in the batch"
    steps_at_cancel = batcher.steps
    doomed.cancel()
    while batcher.rows > 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert batcher.rows <= 1
    # the step running at cancel() may finish; the row is out before the one after it
    assert [step for step, why in batcher.departures if why == "cancelled"][-1] <= steps_at_cancel + 1
    thread.join(60)
    other.join(300)
    assert not thread.is_alive() and left["tokens"] < 400
    assert kept["tokens"] == expected


def test_per_stream_memory_is_its_kv_rows(batched):
    """While streams run, the resident pages of the shared KV buffers stay within rows × bytes per row (the figure
    bench-serve reports), and a stream that left hands its pages back."""
    batcher = batched.engine.batcher
    options = [SpeechOptions(seed=30 + i, fixed_length=lambda segment: 60) for i in range(3)]
    samples = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            samples.append(batcher.memory())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    in_threads([lambda o=o, t=t: tokens_of(batched, t, o) for o, t in zip(options, TEXTS, strict=False)])
    done.set()
    watcher.join()
    page_slack = batcher.lanes() * 4096  # each (slot, layer, head) lane may end in a partly used page
    busy = [(resident, rows) for resident, rows in samples if rows]
    assert busy and max(rows for _, rows in busy) > 100, "the watcher should have seen the streams in the batch"
    for resident, rows in busy:
        assert resident <= rows * batcher.bytes_per_row + page_slack
    assert batcher.resident_kv_bytes() <= page_slack, "rows that left should have handed their pages back"


def test_compute_lock_serves_the_earliest_deadline_first():
    lock, order, ready = ComputeLock(), [], threading.Barrier(4)

    def wait_turn(deadline, name):
        ready.wait()
        time.sleep(0.01 * (3 - deadline))  # queue up in the order opposite to the deadlines
        with lock.hold(deadline):
            order.append(name)

    with lock.hold(0.0):  # held while the others queue up
        threads = [threading.Thread(target=wait_turn, args=(d, f"d{d}")) for d in (1.0, 2.0, 3.0)]
        for thread in threads:
            thread.start()
        ready.wait()
        while lock.waiting < 3:
            time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    assert order == ["d1.0", "d2.0", "d3.0"]


def test_kv_buffer_keeps_rows_through_growth_and_moves():
    from gsv_edge.runtime.backends.onnxruntime_backend import KVBuffer

    buffer = KVBuffer(heads=2, head_dim=4, capacity=8, slots=2)
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((2, 2, 5, 4)).astype(np.float32)
    buffer.array[:, :, :5] = rows
    buffer.add_slots(3)
    buffer.grow(16, kept=5)
    assert buffer.array.shape == (3, 2, 16, 4)
    np.testing.assert_array_equal(buffer.array[:2, :, :5], rows)
    buffer.move_slot(1, 0, 5)
    np.testing.assert_array_equal(buffer.array[0, :, :5], rows[1])


def test_bench_serve_reports_every_level(runtime_pack, voices):
    """`gsv-edge bench-serve` against a real batched server on the tiny pack: one object per level, the issue's
    fields, audio that arrived."""
    import json

    from tests.test_cli import assert_one_line_error, gsv

    result = gsv("bench-serve", "--pack", runtime_pack, "--voice", "v", "--voices", voices, "--levels", "1,2",
                 "--requests", "2", "--batching", "on", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    levels = json.loads(result.stdout)["levels"]
    assert [(level["streams"], level["batched"]) for level in levels] == [(1, True), (2, True)]
    for level in levels:
        assert set(level) >= {"audio_per_wall", "first_audio_p50_ms", "first_audio_p99_ms", "request_p99_ms",
                              "realtime_share", "peak_rss_mb"}  # fmt: skip
        assert level["audio_per_wall"] > 0 and 0 <= level["realtime_share"] <= 1 and level["peak_rss_mb"] > 50
        assert 0 < level["first_audio_p50_ms"] <= level["first_audio_p99_ms"] <= level["request_p99_ms"]
    assert_one_line_error(gsv("bench-serve", "--pack", runtime_pack, "--levels", "1,x"), "--levels")
    assert_one_line_error(gsv("bench-serve", "--pack", runtime_pack, "--batching", "maybe"), "--batching")
