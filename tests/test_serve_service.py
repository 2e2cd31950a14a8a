"""The server's core without a protocol: deadlines (running and queued), draining, and cutting streamed text into
sentences. (The protocols themselves are tested through real servers in test_serve_http and test_serve_wyoming.)"""

from __future__ import annotations

import asyncio

import pytest

from gsv_edge.edge.serve.sentences import SentenceCutter
from gsv_edge.edge.serve.service import DeadlineExceeded, Limits, ServerBusy, Service, SpeechRequest
from gsv_edge.runtime.synthesizer import Synthesizer
from tests.serve_support import LONG_TEXT, enroll, gauge


@pytest.fixture(scope="module")
def synth(runtime_pack, reference_clip, tmp_path_factory):
    voices = tmp_path_factory.mktemp("service-voices")
    enroll(runtime_pack, voices, reference_clip)
    return Synthesizer.load(runtime_pack, voices_dir=voices)


def counts(service: Service) -> dict:
    from tests.serve_support import requests_total

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in service.metrics.registry.collect()
        for s in family.samples
    }
    return {"deadline": requests_total(samples, "http", "deadline"), "active": gauge(samples, "gsv_streams_active")}


def test_a_request_past_its_deadline_is_cut_off_and_frees_its_stream(synth):
    async def scenario():
        # 1500 tokens per segment: far longer than the half-second deadline
        service = Service(synth, Limits(max_streams=1, queue=1, deadline_s=0.5), fixed_tokens=1500)
        try:
            running = await service.open(SpeechRequest(LONG_TEXT, "alice"))
            with pytest.raises(DeadlineExceeded):
                async with running:
                    async for _ in running:
                        pass
            for _ in range(100):  # the stream stops at its next GPT step and frees its slot
                if service.streams_active == 0:
                    break
                await asyncio.sleep(0.05)
            return counts(service), sum(len(made) for made in running.tokens)
        finally:
            service.close()

    seen, tokens = asyncio.run(scenario())
    assert seen["active"] == 0 and seen["deadline"] == 1
    assert tokens < 1500  # stopped inside its first segment


def test_drain_cancels_what_outlives_its_timeout_and_refuses_new_requests(synth):
    async def scenario():
        service = Service(synth, Limits(max_streams=1, queue=0), fixed_tokens=1500)
        try:
            running = await service.open(SpeechRequest(LONG_TEXT, "alice"))
            consumer = asyncio.create_task(_consume(running))
            finished = await service.drain(0.2)
            with pytest.raises(ServerBusy):
                await service.open(SpeechRequest("Hello.", "alice"))
            return finished, await consumer, service.streams_active
        finally:
            service.close()

    finished, outcome, active = asyncio.run(scenario())
    assert finished is False  # it had to cancel
    assert isinstance(outcome, ServerBusy)  # the consumer is told, not left with a silent end
    assert active == 0


async def _consume(utterance):
    try:
        async with utterance:
            async for _ in utterance:
                pass
    except ServerBusy as err:
        return err
    return None


@pytest.mark.parametrize(
    ("pieces", "sentences", "rest"),
    [
        (["Hello the", "re. How", " are you? I am", " fine"], ["Hello there.", "How are you?"], "I am fine"),
        (["It costs 3", ".5 euros. Ok"], ["It costs 3.5 euros."], "Ok"),  # a decimal point does not cut
        (["你好。世界", "很大！再见"], ["你好。", "世界很大！"], "再见"),  # a full-width mark cuts at once
        (['He said "stop!" and', " left."], ['He said "stop!"'], "and left."),  # closing quotes stay
        (["... ", "!!", " ok"], [], "ok"),  # marks alone have nothing to speak
    ],
)
def test_streamed_text_is_cut_into_sentences_as_it_arrives(pieces, sentences, rest):
    cutter = SentenceCutter(max_characters=4096)
    got = [sentence for piece in pieces for sentence in cutter.add(piece)]
    assert got == sentences and cutter.finish() == rest


def test_text_without_a_sentence_mark_is_spoken_once_it_is_too_long():
    cutter = SentenceCutter(max_characters=20)
    assert cutter.add("a b c d e f g h i j") == []
    assert cutter.add(" k l") == ["a b c d e f g h i j k l"]
