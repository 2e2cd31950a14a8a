"""The object users hold: a loaded pack that turns text and a voice into 32 kHz audio, torch-free.

    synth = Synthesizer.load("packs/myvoice-rpi5")
    audio = synth.synthesize("你好，世界。", synth.voice("alice"))     # float32, 32 kHz

The data path, one file per step: text → phones (runtime.text) → semantic tokens (runtime.t2s) → audio
(runtime.vocoder). Segments are joined with 0.3 s of silence, as upstream does.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import UserError
from runtime.backends import Backend, open_backend
from runtime.memory import fix_mmap_threshold, release_mapped_pages
from runtime.pack import Manifest, read_manifest
from runtime.sampling import SamplingOptions
from runtime.streaming import ChunkPlan, SegmentStreamer
from runtime.t2s import T2SEmbeddings, decode_tokens, generate
from runtime.vocoder import LATENT_CHANNELS, SAMPLE_RATE, synthesize
from runtime.voices import Voice, load_voice, read_reference_clip

SEGMENT_PAUSE_SECONDS = 0.3
# When a pack holds several precisions of a graph, run the most compressed one (the profile chose them).
PRECISION_PREFERENCE = ("int4", "int8", "fp16", "fp32")
BERT_DIM = 1024


@dataclass
class SpeechOptions:
    """How to speak: sampling, speed and noise; the defaults are upstream's."""

    top_k: int | None = None
    """None: the model's own (from the GPT config)."""
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35
    speed: float = 1.0
    """Above 1 speaks faster."""
    noise_scale: float = 0.5
    """Sampling noise of the prior (upstream default 0.5)."""
    seed: int | None = None
    """Fixes every random choice (tokens and noise) for reproducible output."""


def _in_worker_thread(events: Iterator) -> Iterator:
    """Run an event generator in a worker thread, handing its events over through a queue; errors are raised
    in the caller's thread, and closing this generator stops the worker at its next event."""
    handover: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for event in events:
                if stop.is_set():
                    return
                handover.put(event)
            handover.put(("done", None))
        except BaseException as err:  # noqa: BLE001 - handed to the caller, which raises it
            handover.put(("error", err))

    worker = threading.Thread(target=work, name="gsv-edge-t2s", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handover.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield kind, value
    finally:
        stop.set()
        worker.join()


class _SegmentSeeds:
    """Two seeds per segment (AR sampling, prior noise) from one master seed, so a stream and a whole
    synthesis of the same text with the same seed sample the same tokens and the same noise."""

    def __init__(self, seed: int | None):
        self.rng = np.random.default_rng(seed)

    def next(self) -> tuple[int, int]:
        ar_seed, noise_seed = self.rng.integers(2**63, size=2)
        return int(ar_seed), int(noise_seed)


class Synthesizer:
    def __init__(self, pack: Path, manifest: Manifest, backend: Backend, voices_dir: Path):
        self.pack, self.manifest, self.backend, self.voices_dir = pack, manifest, backend, voices_dir
        self._sessions: dict[str, object] = {}
        self.chunk_plan = ChunkPlan()
        """When ``stream`` vocodes (the profile's ``[streaming]`` table once loaded)."""
        self.vocoder_threads = 0
        """Threads for the SoVITS graphs (the profile's runtime.vocoder_threads; 0: as for the rest)."""
        self.t2s_backend = backend
        """The backend that runs the GPT: the profile's runtime.t2s_backend when set, else ``backend``."""
        self.encoder_backend = backend
        """The backend that runs sovits_enc: the profile's runtime.sovits_enc_backend when set, else ``backend``."""
        with np.load(pack / manifest.tables["t2s_embeddings"], allow_pickle=False) as tables:
            self.embeddings = T2SEmbeddings(dict(tables))
        self._bert_tokenizer = None

    @classmethod
    def load(
        cls,
        pack: str | Path,
        profile: str | None = None,
        backend: str | None = None,
        voices_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
    ) -> Synthesizer:
        """Open a pack (manifest and file hashes checked) with the profile's runtime settings."""
        from edge.profiles import load_profile

        fix_mmap_threshold()  # before the graphs allocate anything (see runtime.memory)
        pack = Path(pack)
        manifest = read_manifest(pack)
        chosen_profile = load_profile(profile or manifest.profile or "laptop")
        settings = chosen_profile.runtime
        chosen = open_backend(manifest, settings, backend, Path(cache_dir) if cache_dir else None)
        synth = cls(pack, manifest, chosen, Path(voices_dir) if voices_dir else pack / "voices")
        # e.g. ONNX Runtime for the GPT and the SoVITS encoder, OpenVINO for the decoder. Both change shape
        # on every call (one more token), and OpenVINO keeps buffers per input shape: measured on the demo
        # model, its encoder grew 1 MB per new token count (483 MB after 60 lengths); ONNX Runtime's does not.
        if backend is None:
            synth.t2s_backend = synth._profile_backend(settings, "t2s", "t2s_backend")
            synth.encoder_backend = synth._profile_backend(settings, "sovits_enc", "sovits_enc_backend")
        reason = synth._open_graphs(chosen_profile)
        if reason is None:
            return synth
        # OpenVINO failed to compile or run the GPT or the decoder: ONNX Runtime, if the pack has all three graphs
        has_onnx = all(manifest.graph(name, "onnxruntime") for name in ("t2s", "sovits_enc", "sovits_dec"))
        if chosen.name != "openvino" or backend == "openvino" or not has_onnx:
            raise UserError(f"cannot load {pack} with {chosen.name}: {reason}")
        fallback = open_backend(manifest, settings, "onnxruntime")
        fallback.reason = f"fallback: openvino failed ({reason[:80]})"
        synth = cls(pack, manifest, fallback, synth.voices_dir)
        reason = synth._open_graphs(chosen_profile)
        if reason is not None:
            raise UserError(f"cannot load {pack} with onnxruntime either: {reason}")
        return synth

    def _open_graphs(self, profile) -> str | None:
        """Apply the profile's streaming and thread settings, compile the GPT and warm up the decoder. Returns
        None, or the first line of the engine's error when it cannot compile or run one of them."""
        self.chunk_plan = ChunkPlan.from_profile(profile.streaming)
        self.vocoder_threads = int(profile.runtime.get("vocoder_threads", 0) or 0)
        try:
            self._session("t2s")
            self._warm_up_decoder()
        except RuntimeError as err:  # both engines raise RuntimeError subclasses for a graph they cannot run
            return (str(err).strip().splitlines() or [type(err).__name__])[0]
        return None

    # --- graphs -------------------------------------------------------------------------------------------

    def _profile_backend(self, settings: dict, graph: str, key: str) -> Backend:
        """The backend the profile's ``runtime.<key>`` names for ``graph``, when it differs from the main one
        and the pack has that graph for it; else the main backend."""
        wanted = settings.get(key)
        if not wanted or wanted == self.backend.name or self.manifest.graph(graph, wanted) is None:
            return self.backend
        chosen = open_backend(self.manifest, settings, wanted)
        chosen.reason = f"profile: runtime.{key}"
        return chosen

    def backend_for(self, name: str) -> Backend:
        """The backend that runs graph ``name``."""
        return {"t2s": self.t2s_backend, "sovits_enc": self.encoder_backend}.get(name, self.backend)

    def _compiled(self, name: str):
        if name not in self._sessions:
            backend = self.backend_for(name)
            graph = self.manifest.graph(name, backend.name, PRECISION_PREFERENCE)
            if graph is None:
                hint = {"hubert": "--hubert", "bert": "--bert", "sv": "--sv"}.get(name)
                fix = f"convert the model again with {hint}" if hint else "convert the model again"
                raise UserError(f"the pack has no {name} graph for {backend.name}; {fix}")
            threads = self.vocoder_threads if name.startswith("sovits") else 0
            self._sessions[name] = backend.load(self.pack / graph.files[0], threads)
        return self._sessions[name]

    def decoder_gin(self) -> int:
        """Width of the speaker embedding ``ge`` the SoVITS decoder takes (512 for v1/v2, 1024 for v2Pro)."""
        compiled = self._compiled("sovits_dec")
        if self.backend.name == "openvino":
            return int(compiled.input("ge").get_partial_shape()[1].get_length())
        return int(next(i.shape[1] for i in compiled.get_inputs() if i.name == "ge"))

    def _warm_up_decoder(self) -> None:
        """Decode silence once on each window length, at load. OpenVINO repacks the decoder's weights on its
        first call (about 130 ms for the full-size model), which would otherwise delay the first audio; after that
        it never reads the weight file it memory-mapped, so those pages are handed back to the system."""
        decoder, ge = self._session("sovits_dec"), np.zeros((1, self.decoder_gin()), np.float32)
        for frames in self.chunk_plan.decoder_windows:
            decoder.run(np.zeros((1, LATENT_CHANNELS, frames), np.float32), ge)
        graph = self.manifest.graph("sovits_dec", self.backend.name, PRECISION_PREFERENCE)
        for name in graph.files:
            release_mapped_pages(self.pack / name)

    def _session(self, name: str):
        key = f"session:{name}"
        if key not in self._sessions:
            self._sessions[key] = self.backend_for(name).session(name, self._compiled(name))
        return self._sessions[key]

    # --- text ---------------------------------------------------------------------------------------------

    def _bert_features(self, run) -> np.ndarray:
        """Phone-level BERT features for one language run: real for Chinese when the pack has BERT, else zeros."""
        zeros = np.zeros((BERT_DIM, len(run.phone_ids)), np.float32)
        if not run.bert or self.manifest.graph("bert", self.backend.name) is None:
            return zeros
        from runtime.voice_features import BertTokenizer, phone_level_bert

        if self._bert_tokenizer is None:
            self._bert_tokenizer = BertTokenizer(self.pack / self.manifest.tables["bert_tokenizer"])
        hidden = self.backend.run(self._compiled("bert"), self._bert_tokenizer(run.norm_text))["hidden"][0]
        return phone_level_bert(hidden, run.word2ph)

    def text_segments(self, text: str, language: str):
        """The text cut into segments with phone ids (cheap: no graph runs, except g2pW on Chinese text)."""
        from runtime.text import TextError, phonemize

        try:
            return phonemize(text, language=language, version=self.manifest.symbols, g2pw=self._g2pw())
        except TextError as err:
            raise UserError(str(err)) from None

    def _g2pw(self):
        """The pack's g2pW reader for Chinese polyphones (v2 packs converted with --g2pw), else None. Its model
        loads on the first Chinese sentence, not here."""
        folder = self.manifest.tables.get("g2pw")
        if folder is None or self.manifest.symbols == "v1":
            return None
        if "g2pw" not in self._sessions:
            from runtime.text.zh_g2pw import G2PW

            self._sessions["g2pw"] = G2PW(self.pack / folder)
        return self._sessions["g2pw"]

    def segment_bert(self, segment) -> np.ndarray:
        """Phone-level BERT features [1024, n] of one segment (runs BERT on its Chinese runs)."""
        return np.concatenate([self._bert_features(run) for run in segment.runs], axis=1)

    def phonemize(self, text: str, language: str):
        """Segments with phone ids and phone-level BERT features [1024, n]."""
        return [(segment, self.segment_bert(segment)) for segment in self.text_segments(text, language)]

    # --- voices -------------------------------------------------------------------------------------------

    def voice(self, name: str) -> Voice:
        return load_voice(self.voices_dir, name, self.manifest.fingerprint)

    def enroll(self, name: str, clip: str | Path, text: str, language: str) -> Voice:
        """Make a voice from a 3-10 s clip and its transcript with the pack's hubert and ref_enc graphs (and, for
        v2Pro/v2ProPlus, the sv graph: its speaker embedding is a second input of ref_enc)."""
        import soxr

        from runtime.voice_features import linear_spectrogram, prompt_audio

        pro = self.manifest.model_version in ("v2Pro", "v2ProPlus")
        if pro and self.manifest.graph("sv", self.backend.name) is None:
            raise UserError(
                f"{self.manifest.model_version} voices need the speaker-verification model; convert the model again "
                "with --sv pretrained_eres2netv2w24s4ep4.ckpt (upstream's GPT_SoVITS/pretrained_models/sv/)"
            )
        audio, rate = read_reference_clip(Path(clip))
        audio16 = soxr.resample(audio, rate, 16000).astype(np.float32)
        audio32 = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
        peak = float(np.abs(audio32).max())
        if peak > 1:  # upstream scales loud clips down before the spectrogram
            audio32 = audio32 / min(2.0, peak)
        tokens = self.backend.run(self._compiled("hubert"), {"wav16k": prompt_audio(audio16)})["codes"][0]
        feed = {"spec": linear_spectrogram(audio32)[None]}
        if pro:
            from runtime.fbank import fbank

            # Upstream resamples the peak-limited 32 kHz clip to 16 kHz and takes its Kaldi fbank.
            features = fbank(soxr.resample(audio32, SAMPLE_RATE, 16000))[None]
            feed["sv_emb"] = self.backend.run(self._compiled("sv"), {"fbank": features})["sv_emb"]
        ge = self.backend.run(self._compiled("ref_enc"), feed)["ge"][0]
        text = text.strip()
        if not text:
            raise UserError("the transcript is empty; pass the words spoken in the clip with --text")
        if text[-1] not in "。.!?！？,，;；:：…":
            text += "." if language == "en" else "。"  # upstream ends the prompt text with a full stop
        segments = self.phonemize(text, language)
        if not segments:
            raise UserError(f"the transcript {text!r} has no speakable words")
        return Voice(
            name=name, language=language, text=text, prompt_tokens=np.asarray(tokens, np.int64),
            phone_ids=np.concatenate([np.asarray(s.phone_ids, np.int64) for s, _ in segments]),
            bert=np.concatenate([b for _, b in segments], axis=1), ge=np.asarray(ge, np.float32),
            pack_fingerprint=self.manifest.fingerprint, seconds=len(audio) / rate,
        )  # fmt: skip

    # --- speech -------------------------------------------------------------------------------------------

    def _sampling(self, options: SpeechOptions) -> SamplingOptions:
        return SamplingOptions(
            top_k=options.top_k or int(self.manifest.gpt.get("top_k", 15)), top_p=options.top_p,
            temperature=options.temperature, repetition_penalty=options.repetition_penalty,
        )  # fmt: skip

    def _gpt_inputs(self, segment, bert, voice: Voice, t2s=None):
        """The AR loop's inputs for one segment: session, embedding tables, phones and BERT of the voice's
        transcript then the segment, and the voice's prompt tokens."""
        phones = np.concatenate([voice.phone_ids, np.asarray(segment.phone_ids, np.int64)])
        features = np.concatenate([voice.bert, bert], axis=1)
        return t2s or self._session("t2s"), self.embeddings, phones, features, voice.prompt_tokens

    def _generate(self, segment, bert, voice: Voice, sampling: SamplingOptions, seed: int, t2s=None):
        return generate(*self._gpt_inputs(segment, bert, voice, t2s), sampling, seed)

    def segments(self, text: str, voice: Voice, language: str = "auto", options: SpeechOptions | None = None):
        """Yield each segment's float32 audio, whole (no pauses added)."""
        options = options or SpeechOptions()
        sampling, seeds = self._sampling(options), _SegmentSeeds(options.seed)
        encoder, decoder = self._session("sovits_enc"), self._session("sovits_dec")
        for segment, bert in self.phonemize(text, language):
            ar_seed, noise_seed = seeds.next()
            result = self._generate(segment, bert, voice, sampling, ar_seed)
            if not result.tokens:
                # Nothing new was generated: skip the segment. (Vocoding the prompt here would replay the
                # reference clip, a known failure of other runtimes.)
                continue
            audio = synthesize(
                encoder, decoder, result.tokens, segment.phone_ids, voice.ge,
                noise_scale=options.noise_scale, speed=options.speed, rng=np.random.default_rng(noise_seed),
                windows=self.chunk_plan.decoder_windows,
            )  # fmt: skip
            peak = float(np.abs(audio).max()) if len(audio) else 0.0
            yield audio / peak if peak > 1 else audio  # as upstream: only audio that would clip is scaled

    def stream(
        self,
        text: str,
        voice: Voice,
        language: str = "auto",
        options: SpeechOptions | None = None,
        *,
        _t2s=None,
        _max_steps=None,
    ) -> Iterator[np.ndarray]:
        """Yield float32 audio chunks as soon as they are made, segments separated by 0.3 s pauses.

        Tokens are vocoded chunk by chunk (``runtime.streaming``) while the GPT runs, so the first chunk is
        ready after ``first_chunk_tokens`` tokens, not after the sentence. With the profile's ``overlap`` the
        GPT runs in a worker thread beside the vocoder (for boards with cores to spare); without it the two
        take turns on every core. Same seed, same tokens as ``synthesize``; the audio differs from a whole
        decode only where the SoVITS encoder would have looked at tokens that did not exist yet. Samples
        beyond ±1 are clipped (a stream cannot scale a segment by a peak it has not seen yet).
        ``_t2s``/``_max_steps``: benchmark hooks (a wrapped t2s session; a fixed length per segment).
        """
        options = options or SpeechOptions()
        segments = self.text_segments(text, language)  # bad text fails here, in the caller's thread
        encoder, decoder = self._session("sovits_enc"), self._session("sovits_dec")
        events = self._token_events(segments, voice, options, _t2s, _max_steps)
        if self.chunk_plan.overlap:
            events = _in_worker_thread(events)
        pause = np.zeros(int(SEGMENT_PAUSE_SECONDS * SAMPLE_RATE), np.float32)
        streamer = None
        for kind, value in events:
            if kind == "segment":
                segment, noise_seed = value
                streamer = SegmentStreamer(
                    encoder, decoder, segment.phone_ids, voice.ge, self.chunk_plan,
                    noise_scale=options.noise_scale, speed=options.speed, rng=np.random.default_rng(noise_seed),
                )  # fmt: skip
                continue
            chunk = streamer.push(value) if kind == "token" else streamer.finish()
            if len(chunk):
                yield np.clip(chunk, -1.0, 1.0)
            if kind == "end" and streamer.tokens:
                yield pause

    def _token_events(self, segments, voice, options, t2s, max_steps) -> Iterator[tuple[str, object]]:
        """("segment", (segment, noise seed)), then ("token", id) as each is sampled, then ("end", None); per
        segment, with BERT run just before its segment (so the first segment does not wait for the others)."""
        sampling, seeds = self._sampling(options), _SegmentSeeds(options.seed)
        for segment in segments:
            ar_seed, noise_seed = seeds.next()
            bert = self.segment_bert(segment)
            if max_steps is not None:
                sampling = dataclasses.replace(sampling, max_steps=max_steps(segment))
            yield "segment", (segment, noise_seed)
            for token in decode_tokens(*self._gpt_inputs(segment, bert, voice, t2s), sampling, ar_seed):
                yield "token", token
            yield "end", None

    def synthesize(self, text: str, voice: Voice, language: str = "auto", options: SpeechOptions | None = None):
        """The whole utterance as float32 audio at 32 kHz; segments joined by 0.3 s of silence."""
        pause = np.zeros(int(SEGMENT_PAUSE_SECONDS * SAMPLE_RATE), np.float32)
        pieces = []
        for audio in self.segments(text, voice, language, options):
            pieces += [audio, pause]
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
