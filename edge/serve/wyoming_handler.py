"""Wyoming, the protocol Home Assistant speaks to TTS engines: one handler per client connection.

The event flow follows the wyoming package (1.10) and wyoming-piper, the reference TTS server:

- ``describe`` → ``info``: one TTS program whose voices are the enrolled voices, listed afresh on every describe
  (voices added over HTTP show up without a restart).
- ``synthesize`` → ``audio-start``, ``audio-chunk``…, ``audio-stop``; each vocoded chunk is sent as soon as it is
  made (in events of ``SAMPLES_PER_EVENT`` samples, as wyoming-piper sends), not after the sentence.
- streaming text input: ``synthesize-start``, ``synthesize-chunk``…, ``synthesize-stop``. Sentences are cut as
  the text arrives (``sentences.SentenceCutter``) and each is spoken as soon as it is complete, as its own
  ``audio-start`` … ``audio-stop``; ``synthesize-stopped`` ends the reply. Home Assistant also sends a plain
  ``synthesize`` with the whole text inside such a stream, for servers that do not stream: it is ignored here,
  as wyoming-piper ignores it.
- a bad request (unknown voice, no speakable text, busy server) → an ``error`` event; the connection stays open.

Reading goes on while an utterance is spoken, so a client that disconnects is noticed at once and its stream is
cancelled (it stops at its next GPT step).
"""

from __future__ import annotations

import asyncio
import logging

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from gsv_edge.edge.serve.audio_formats import pcm16
from gsv_edge.edge.serve.metrics import package_version
from gsv_edge.edge.serve.sentences import SentenceCutter
from gsv_edge.edge.serve.service import (
    MAX_INPUT_CHARACTERS,
    DeadlineExceeded,
    ServerBusy,
    Service,
    SpeechRequest,
    VoiceNotFound,
)
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.vocoder import SAMPLE_RATE

LOG = logging.getLogger("gsv_edge.serve")

SAMPLES_PER_EVENT = 1024  # wyoming-piper's default --samples-per-chunk
WIDTH, CHANNELS = 2, 1  # 16-bit mono
# The languages the runtime's text front end speaks; every voice can speak each of them (the model is
# multilingual), and Home Assistant offers a voice only in pipelines of a language it lists.
LANGUAGES = ("zh", "en", "ja")


def describe(service: Service) -> Info:
    """The ``info`` answer: the enrolled voices as they are now."""
    voices = []
    for entry in service.voices():
        own = entry.get("language", "")
        languages = [own] + [lang for lang in LANGUAGES if lang != own] if own in LANGUAGES else list(LANGUAGES)
        voices.append(
            TtsVoice(
                name=entry["name"], languages=languages, installed=True, version=None,
                description=f"{entry['name']} (enrolled from a {entry.get('seconds', 0):.1f} s {own} clip)",
                attribution=Attribution(name="gsv-edge", url=""),
            )
        )  # fmt: skip
    program = TtsProgram(
        name="gsv-edge", description="GPT-SoVITS voice cloning, offline (gsv-edge)",
        attribution=Attribution(name="gsv-edge", url=""), installed=True, version=package_version(),
        voices=voices, supports_synthesize_streaming=True,
    )  # fmt: skip
    return Info(tts=[program])


class WyomingHandler(AsyncEventHandler):
    """One client connection."""

    def __init__(self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        super().__init__(reader, writer)
        self.service = service
        self._job: asyncio.Task | None = None  # what is being spoken now; requests on a connection go in order
        self._sentences: asyncio.Queue | None = None  # set while a streamed text is open
        self._cutter: SentenceCutter | None = None

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(describe(self.service).event())
        elif Synthesize.is_type(event.type):
            if self._sentences is None:  # inside a stream it is the compatibility copy of the streamed text
                request = Synthesize.from_event(event)
                self._then(self._speak_whole(request.text, request.voice))
        elif SynthesizeStart.is_type(event.type):
            self._sentences, self._cutter = asyncio.Queue(), SentenceCutter(MAX_INPUT_CHARACTERS)
            self._then(self._speak_stream(SynthesizeStart.from_event(event).voice, self._sentences))
        elif SynthesizeChunk.is_type(event.type):
            if self._sentences is None:
                await self._error("synthesize-chunk came outside a stream; send synthesize-start first", "bad-request")
            else:
                for sentence in self._cutter.add(SynthesizeChunk.from_event(event).text):
                    self._sentences.put_nowait(sentence)
        elif SynthesizeStop.is_type(event.type):
            if self._sentences is None:
                await self._error("synthesize-stop came outside a stream; send synthesize-start first", "bad-request")
            else:
                rest = self._cutter.finish()
                if rest:
                    self._sentences.put_nowait(rest)
                self._sentences.put_nowait(None)
                self._sentences = self._cutter = None
        return True

    async def disconnect(self) -> None:
        """The client is gone: stop what it asked for (the utterance's stream is cancelled)."""
        if self._job is not None and not self._job.done():
            self._job.cancel()

    # --- speaking ---

    def _then(self, work) -> None:
        """Run ``work`` after whatever this connection is speaking now (replies go out in request order)."""
        before = self._job

        async def in_order() -> None:
            if before is not None:
                await asyncio.wait([before])
            try:
                await work
            except ConnectionError:  # the client went away mid-reply; disconnect() cancels the rest
                LOG.info("wyoming client disconnected during a reply")

        self._job = asyncio.create_task(in_order())

    async def _speak_whole(self, text: str, voice: SynthesizeVoice | None) -> None:
        name = await self._voice_name(voice)
        if name is None:
            return
        if await self._speak(text, name):
            await self.write_event(AudioStop().event())

    async def _speak_stream(self, voice: SynthesizeVoice | None, sentences: asyncio.Queue) -> None:
        name = await self._voice_name(voice)
        while (sentence := await sentences.get()) is not None:
            if name is not None and await self._speak(sentence, name):
                await self.write_event(AudioStop().event())
        await self.write_event(SynthesizeStopped().event())

    async def _speak(self, text: str, voice: str) -> bool:
        """Speak one utterance as audio-start and audio-chunks; False (after an error event) when it failed."""
        try:
            utterance = await self.service.open(SpeechRequest(text, voice, protocol="wyoming"))
        except GsvEdgeError as err:
            await self._error(str(err), _code_of(err))
            return False
        async with utterance:
            await self.write_event(AudioStart(rate=SAMPLE_RATE, width=WIDTH, channels=CHANNELS).event())
            try:
                async for chunk in utterance:
                    audio = pcm16(chunk.samples)
                    step = SAMPLES_PER_EVENT * WIDTH * CHANNELS
                    for start in range(0, len(audio), step):
                        piece = audio[start : start + step]
                        await self.write_event(
                            AudioChunk(rate=SAMPLE_RATE, width=WIDTH, channels=CHANNELS, audio=piece).event()
                        )
            except GsvEdgeError as err:
                await self._error(str(err), _code_of(err))
                return False
            except (ConnectionError, asyncio.CancelledError):
                raise  # the client is gone; leaving the block cancels the stream
            except Exception as err:  # noqa: BLE001 - a fault below: the client gets an error event, not silence
                LOG.exception("wyoming request failed")
                await self._error(f"internal error: {type(err).__name__}", "internal")
                return False
        return True

    async def _voice_name(self, voice: SynthesizeVoice | None) -> str | None:
        """The voice asked for by name; else the first enrolled voice of the language asked for; else the first
        enrolled voice. None (after an error event) when there is none."""
        if voice is not None and voice.name:
            return voice.name
        entries = self.service.voices()
        if voice is not None and voice.language:
            entries = [e for e in entries if e.get("language") == voice.language] or entries
        if not entries:
            await self._error("no voice is enrolled; add one with 'gsv-edge voice add'", "no-voice")
            return None
        return entries[0]["name"]

    async def _error(self, text: str, code: str) -> None:
        await self.write_event(Error(text=" ".join(text.split()), code=code).event())


def _code_of(err: GsvEdgeError) -> str:
    if isinstance(err, VoiceNotFound):
        return "voice-not-found"
    if isinstance(err, ServerBusy):
        return "busy"
    if isinstance(err, DeadlineExceeded):
        return "deadline"
    return "bad-request"
