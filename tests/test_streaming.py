"""Token-level streaming: chunked vocoding against a whole decode, and Synthesizer.stream's worker thread."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from gsv_edge.runtime.enroll import enroll_voice
from gsv_edge.runtime.profile import load_profile
from gsv_edge.runtime.settings import StreamingSettings
from gsv_edge.runtime.streaming import SegmentStreamer, ready_frames
from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
from gsv_edge.runtime.vocoder import (
    SAMPLES_PER_FRAME,
    WINDOW_FRAMES,
    FrameNoise,
    decode_whole,
    frames_for,
    prior_sample,
    sample_positions,
)
from gsv_edge.runtime.voices import save_voice

TEXT = "你好，世界。今天天气很好！"


def snr_db(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape
    return float(10 * np.log10(np.sum(want**2) / max(np.sum((got - want) ** 2), 1e-30)))


def _f32_laptop(overlap: bool = False):
    # f32 inference: bf16 (this CPU's default) rounds differently for each window shape
    laptop = load_profile("laptop").settings
    return dataclasses.replace(
        laptop,
        runtime=dataclasses.replace(laptop.runtime, inference_precision="f32"),
        streaming=dataclasses.replace(laptop.streaming, overlap=overlap),
    )


@pytest.fixture(scope="module")
def synths(runtime_pack, reference_clip, tmp_path_factory):
    """The laptop settings at f32, GPT and vocoder taking turns (False) or the GPT in a worker thread (True)."""
    voices = tmp_path_factory.mktemp("voices")
    both = {
        flag: Synthesizer.load(runtime_pack, settings=_f32_laptop(flag), voices_dir=voices) for flag in (False, True)
    }
    assert both[False].engine.backend.precision == "f32"
    save_voice(enroll_voice(both[False].engine, "alice", reference_clip, "今天天气很好", "zh"), voices)
    return both


@pytest.fixture(scope="module")
def synth(synths):
    return synths[False]


@pytest.fixture(scope="module")
def segment_inputs(synth):
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 1024, 61)
    phones = rng.integers(1, 300, 25)
    ge = synth.voice("alice").ge
    return tokens, phones, ge


class _PrefixOfWhole:
    """An encoder that knows the future: a prefix gets exactly the whole utterance's prior. With it, any
    difference between a stream and a whole decode comes from the chunking machinery alone."""

    def __init__(self, encoder, tokens, phones, ge):
        self.m, self.logs = encoder.run(np.asarray(tokens)[None], np.asarray(phones)[None], np.asarray(ge)[None])

    def run(self, codes, phones, ge):
        frames = 2 * codes.shape[1]
        return self.m[:, :frames], self.logs[:, :frames]


def _stream(encoder, decoder, tokens, phones, ge, plan, speed=1.0, seed=1):
    streamer = SegmentStreamer(encoder, decoder, phones, ge, plan, speed=speed, rng=np.random.default_rng(seed))
    pieces = [streamer.push(t) for t in tokens] + [streamer.finish()]
    return pieces, streamer


PLANS = [
    StreamingSettings(
        first_chunk_tokens=12,
        chunk_tokens=48,
        left_context_tokens=12,
        lookahead_tokens=8,
        decoder_windows=WINDOW_FRAMES,
    ),
    StreamingSettings(
        first_chunk_tokens=3,
        chunk_tokens=5,
        left_context_tokens=8,
        lookahead_tokens=8,
        crossfade_ms=40,
        decoder_windows=WINDOW_FRAMES,
    ),
    StreamingSettings(
        first_chunk_tokens=8,
        chunk_tokens=32,
        left_context_tokens=12,
        lookahead_tokens=8,
        crossfade_ms=0,
        decoder_windows=WINDOW_FRAMES,
    ),
    # a bundled profile as it ships: rpi4's one small decoder window, which every call, however few of its frames
    # are new, must fill with context
    load_profile("rpi4").settings.streaming,
]


@pytest.mark.parametrize("plan", PLANS, ids=["laptop", "tiny-chunks", "no-crossfade", "rpi4"])
def test_chunking_matches_a_whole_decode_when_the_prior_is_known(synth, segment_inputs, plan):
    tokens, phones, ge = segment_inputs
    encoder, decoder = synth.engine.session("sovits_enc"), synth.engine.session("sovits_dec")
    oracle = _PrefixOfWhole(encoder, tokens, phones, ge)
    whole = decode_whole(encoder, decoder, tokens, phones, ge, rng=np.random.default_rng(1))
    pieces, streamer = _stream(oracle, decoder, tokens, phones, ge, plan)
    assert streamer.chunks >= 2  # it really streamed
    assert sum(len(p) for p in pieces[: plan.first_chunk_tokens + plan.lookahead_tokens]) > 0  # audio came early
    assert snr_db(np.concatenate(pieces), whole) >= 60


def test_a_stream_with_the_real_encoder_stays_close_to_a_whole_decode(synth, segment_inputs):
    # The encoder attends over all tokens, so a prefix's prior differs from the whole's; on these random weights
    # (attention close to uniform) that is the only error left. Measured ~26 dB on the full-size demo model.
    tokens, phones, ge = segment_inputs
    encoder, decoder = synth.engine.session("sovits_enc"), synth.engine.session("sovits_dec")
    whole = decode_whole(encoder, decoder, tokens, phones, ge, rng=np.random.default_rng(1))
    pieces, _ = _stream(encoder, decoder, tokens, phones, ge, PLANS[0])
    streamed = np.concatenate(pieces)
    assert len(streamed) == len(whole)
    assert snr_db(streamed, whole) >= 15
    tail = slice(len(whole) // 2, None)  # later chunks see more of the utterance and come out closer
    assert snr_db(streamed[tail], whole[tail]) >= snr_db(streamed, whole)


def test_a_stream_runs_the_decoder_on_the_profiles_window_lengths_only(synth, segment_inputs):
    # OpenVINO keeps memory per input shape, so a stream must not show the decoder a new length per chunk
    tokens, phones, ge = segment_inputs
    encoder, decoder = synth.engine.session("sovits_enc"), synth.engine.session("sovits_dec")
    lengths = []

    class Logged:
        def run(self, z_p, ge_row):
            lengths.append(z_p.shape[-1])
            return decoder.run(z_p, ge_row)

    for windows in [(96,), (48, 96)]:
        lengths.clear()
        plan = dataclasses.replace(PLANS[0], decoder_windows=windows)
        pieces, streamer = _stream(encoder, Logged(), tokens, phones, ge, plan)
        assert streamer.chunks >= 3 and set(lengths) <= set(windows) and len(lengths) >= streamer.chunks
        assert sum(len(p) for p in pieces) == frames_for(len(tokens)) * SAMPLES_PER_FRAME
    assert synth.settings.streaming.decoder_windows == (88,)  # the laptop profile's


@pytest.mark.parametrize("speed", [0.8, 1.25])
def test_stream_at_other_speeds(synth, segment_inputs, speed):
    # A stream cannot know the utterance's final length, so frame j reads the prior at (j + 0.5)·speed − 0.5;
    # a whole decode stretches by 2T/F instead (F = int(2T/speed) + 1): at most a frame of drift by the end.
    tokens, phones, ge = segment_inputs
    encoder, decoder = synth.engine.session("sovits_enc"), synth.engine.session("sovits_dec")
    oracle = _PrefixOfWhole(encoder, tokens, phones, ge)
    pieces, _ = _stream(oracle, decoder, tokens, phones, ge, PLANS[1], speed)
    frames = frames_for(len(tokens), speed)
    assert sum(len(p) for p in pieces) == frames * SAMPLES_PER_FRAME
    lower, upper, weight = sample_positions(0, frames, speed, oracle.m.shape[1])
    m = oracle.m[:, lower] * (1 - weight) + oracle.m[:, upper] * weight
    logs = oracle.logs[:, lower] * (1 - weight) + oracle.logs[:, upper] * weight
    noise = FrameNoise(np.random.default_rng(1)).first(frames)
    expected = decoder.run(prior_sample(m, logs, noise, 0.5), np.asarray(ge, np.float32)[None])
    assert snr_db(np.concatenate(pieces), expected) >= 60


def test_chunks_come_in_whole_decoder_windows():
    # A 96-frame call keeps 72 new frames (12 of context each side) = 36 tokens, and costs the same for fewer
    laptop = StreamingSettings(first_chunk_tokens=12, chunk_tokens=72, left_context_tokens=6, decoder_windows=(96,))
    assert laptop.tokens_per_window == 36
    assert [laptop.next_chunk(n) for n in (12, 36, 72)] == [36, 72, 72]
    assert StreamingSettings(chunk_tokens=100, decoder_windows=(96,)).next_chunk(72) == 72  # rounded down to 2 windows
    small = StreamingSettings(
        first_chunk_tokens=8, chunk_tokens=32, decoder_windows=(96,)
    )  # below one window: as asked
    assert [small.next_chunk(n) for n in (8, 16, 32)] == [16, 32, 32]


def test_a_streamed_sentence_spends_no_decoder_call_on_a_partial_window():
    class Prior:
        def run(self, codes, phones, ge):
            return np.zeros((192, 2 * codes.shape[1]), np.float32), np.zeros((192, 2 * codes.shape[1]), np.float32)

    class Counted:
        calls = 0

        def run(self, z_p, ge):
            Counted.calls += 1
            return np.zeros(z_p.shape[-1] * SAMPLES_PER_FRAME, np.float32)

    plan = StreamingSettings(first_chunk_tokens=12, chunk_tokens=72, left_context_tokens=6, decoder_windows=(96,))
    pieces, streamer = _stream(Prior(), Counted(), np.arange(168) % 1024, [1, 2, 3], np.zeros(512), plan)
    assert sum(len(p) for p in pieces) == 336 * SAMPLES_PER_FRAME
    # chunks of 12, 36 and 72 tokens, then the last 48: 1 + 1 + 2 + 2 calls (the 20 ms cross-fade tail rides
    # on the last window of a chunk instead of costing one more)
    assert streamer.chunks == 4 and Counted.calls == 6

    # The laptop profile's 88-frame windows keep 32 new tokens a call: chunks of 12, 32 and 64 tokens, then the
    # last 60, still 6 calls, but of 88 frames (528 decoded frames instead of 576 for the same 336)
    Counted.calls = 0
    laptop = load_profile("laptop").settings.streaming
    pieces, streamer = _stream(Prior(), Counted(), np.arange(168) % 1024, [1, 2, 3], np.zeros(512), laptop)
    assert sum(len(p) for p in pieces) == 336 * SAMPLES_PER_FRAME
    assert laptop.decoder_windows == (88,) and streamer.chunks == 4 and Counted.calls == 6


def test_ready_frames_is_every_frame_the_settled_prior_can_make():
    for speed in (0.5, 0.8, 1.0, 1.25, 2.0, 3.7):
        for settled in range(1, 60):
            ready = ready_frames(settled, speed)
            _, upper, weight = sample_positions(0, ready + 1, speed, 10_000)
            reads = np.where(weight > 0, upper, upper - (speed != 1))  # the last source frame each one reads
            assert (reads[:ready] < settled).all()  # nothing unsettled is read
            assert reads[ready] >= settled  # and one frame more would read past it


@pytest.fixture(params=[False, True], ids=["turns", "worker-thread"])
def overlap(request):
    """Both ways of streaming: GPT and vocoder taking turns, or the GPT in a worker thread."""
    return request.param


@pytest.fixture
def streaming_synth(synths, overlap):
    synth = synths[overlap]
    yield synth
    synth.engine.instrument(None)


def test_stream_speaks_the_same_tokens_as_synthesize(streaming_synth):
    synth = streaming_synth
    voice = synth.voice("alice")
    options = SpeechOptions(seed=11)
    with synth.open_stream(TEXT, voice, "zh", options) as whole_run:
        whole = whole_run.whole()
    with synth.open_stream(TEXT, voice, "zh", options) as streamed:
        chunks = list(streamed)
    assert streamed.tokens == whole_run.tokens
    assert len(streamed.tokens) == len(synth.phonemize(TEXT, "zh")) and all(streamed.tokens)
    assert sum(len(c.samples) for c in chunks) == len(whole.samples)
    assert all(np.abs(c.samples).max() <= 1 for c in chunks if len(c.samples))
    assert all(c.sample_rate == whole.sample_rate == 32000 for c in chunks)
    assert [c.segment for c in chunks] == sorted(c.segment for c in chunks)
    assert [c.pause for c in chunks].count(True) == len(streamed.tokens)
    assert {c.text for c in chunks} == {s.text for s in synth.phonemize(TEXT, "zh")}


class _CountingT2S:
    """Wraps the t2s session: counts calls. With ``hold_at`` it waits at that call until ``release`` is set (a GPT
    in a worker thread that is still busy, deterministically)."""

    def __init__(self, hold_at: int | None = None):
        self.session, self.calls, self.hold_at = None, 0, hold_at
        self.release = threading.Event()

    def wrap(self, name, session):
        if name != "t2s":
            return session
        self.session = session
        return self

    def reset(self):
        self.session.reset()

    def run(self, rows, mask):
        self.calls += 1
        if self.calls == self.hold_at:
            self.release.wait(timeout=60)
        return self.session.run(rows, mask)


def test_first_audio_comes_before_the_gpt_is_done(streaming_synth, overlap):
    synth = streaming_synth
    voice = synth.voice("alice")
    counting = _CountingT2S(hold_at=100 if overlap else None)
    synth.engine.instrument(counting.wrap)
    options = SpeechOptions(seed=0, fixed_length=lambda segment: 200)
    stream = synth.stream("你好。", voice, "zh", options)
    first = next(stream)
    counting.release.set()
    assert len(first.samples) > 0
    assert counting.calls < 200  # audio arrived while the GPT still had tokens to make
    if not overlap:  # taking turns: exactly the first chunk and its lookahead were decoded
        plan = synth.settings.streaming
        assert counting.calls == plan.first_chunk_tokens + plan.lookahead_tokens  # the prefill made token 1
    rest = list(stream)
    assert counting.calls == 200  # prefill + 199 steps: exactly 200 tokens, never EOS
    assert sum(len(c.samples) for c in [first, *rest]) == 200 * 2 * SAMPLES_PER_FRAME + int(0.3 * 32000)


def test_closing_a_stream_stops_its_worker(streaming_synth, overlap):
    synth = streaming_synth
    voice = synth.voice("alice")
    # In a worker thread the GPT is held at step 100 (a tiny model would otherwise finish before close())
    counting = _CountingT2S(hold_at=100 if overlap else None)
    synth.engine.instrument(counting.wrap)
    stream = synth.stream("你好。", voice, "zh", SpeechOptions(seed=0, fixed_length=lambda segment: 1500))
    next(stream)
    threading.Timer(0.5, counting.release.set).start()  # let it go once close() is waiting for it
    stream.close()
    assert not any(t.name == "gsv-edge-t2s" for t in threading.enumerate())
    assert counting.calls <= 100


def test_a_cancelled_stream_stops_at_the_next_step(streaming_synth):
    synth = streaming_synth
    counting = _CountingT2S()
    synth.engine.instrument(counting.wrap)
    speech = synth.open_stream("你好。", synth.voice("alice"), "zh", SpeechOptions(seed=0, fixed_length=lambda s: 1500))
    chunks = iter(speech)
    next(chunks)
    calls = counting.calls
    speech.cancel()
    rest = list(chunks)
    assert counting.calls <= calls + 1 and len(speech.tokens[0]) < 1500
    assert all(c.pause is False for c in rest)  # it stopped mid-segment: no closing pause
    speech.close()
    assert not any(t.name == "gsv-edge-t2s" for t in threading.enumerate())


def test_worker_errors_reach_the_caller(streaming_synth):
    synth = streaming_synth

    class Broken:
        def reset(self):
            pass

        def run(self, rows, mask):
            raise RuntimeError("graph exploded")

    synth.engine.instrument(lambda name, session: Broken() if name == "t2s" else session)
    with pytest.raises(RuntimeError, match="graph exploded"):
        list(synth.stream("你好。", synth.voice("alice"), "zh"))
    assert not any(t.name == "gsv-edge-t2s" for t in threading.enumerate())


def test_streams_share_the_graphs_but_not_the_cache(synth):
    """Two streams open at once borrow two GPT sessions (each its own KV cache) and give the tokens each gives
    alone; the vocoder sessions are the same objects."""
    voice = synth.voice("alice")
    alone = [synth.open_stream(TEXT, voice, "zh", SpeechOptions(seed=s)) for s in (1, 2)]
    for speech in alone:
        with speech:
            list(speech)
    together = [synth.open_stream(TEXT, voice, "zh", SpeechOptions(seed=s)) for s in (1, 2)]
    streams = [iter(speech) for speech in together]
    done = [False, False]
    while not all(done):  # interleaved chunk by chunk: both hold a GPT session at once
        for i, chunks in enumerate(streams):
            if not done[i] and next(chunks, None) is None:
                done[i] = True
    assert [s.tokens for s in together] == [s.tokens for s in alone]
    assert together[0].tokens != together[1].tokens
    assert synth.engine.session("sovits_dec") is synth.engine.session("sovits_dec")
