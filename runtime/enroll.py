"""Enrollment: a 3-10 s reference clip and its transcript → a ``Voice`` (the clip itself is not kept).

    voice = enroll_voice(synth.engine, "alice", "alice.wav", "今天天气很好", "zh")
    save_voice(voice, synth.voices_dir)

The pack's graphs do the work: hubert (the clip's prompt tokens), ref_enc (the speaker vector ge) and, for
v2Pro/v2ProPlus, sv (the speaker-verification embedding ref_enc also reads); the transcript goes through the same
front end as speech.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gsv_edge.runtime.engine import Engine
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.front_end import FrontEnd
from gsv_edge.runtime.vocoder import SAMPLE_RATE
from gsv_edge.runtime.voice_features import linear_spectrogram, prompt_audio
from gsv_edge.runtime.voices import Voice, read_reference_clip

PRO_VERSIONS = ("v2Pro", "v2ProPlus")
# Upstream ends the prompt text with a full stop when it has no closing mark.
CLOSING_MARKS = "。.!?！？,，;；:：…"


def enroll_voice(
    engine: Engine, name: str, clip: str | Path, text: str, language: str, front_end: FrontEnd | None = None
) -> Voice:
    """Make a voice from ``clip`` (WAV, FLAC or OGG, 3-10 s) and the words spoken in it."""
    import soxr

    manifest = engine.manifest
    pro = manifest.model_version in PRO_VERSIONS
    if pro and not engine.has_graph("sv"):
        raise GsvEdgeError(
            f"{manifest.model_version} voices need the speaker-verification model; convert the model again with "
            "upstream's pretrained_eres2netv2w24s4ep4.ckpt (GPT_SoVITS/pretrained_models/sv/) as the sv option",
            option="sv",
        )
    text = text.strip()
    if not text:
        raise GsvEdgeError("the transcript is empty; give the words spoken in the clip", option="text")
    audio, rate = read_reference_clip(Path(clip))
    audio16 = soxr.resample(audio, rate, 16000).astype(np.float32)
    audio32 = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
    peak = float(np.abs(audio32).max())
    if peak > 1:  # upstream scales loud clips down before the spectrogram
        audio32 = audio32 / min(2.0, peak)
    tokens = engine.run("hubert", {"wav16k": prompt_audio(audio16)})["codes"][0]
    feed = {"spec": linear_spectrogram(audio32)[None]}
    if pro:
        from gsv_edge.runtime.fbank import fbank

        # Upstream resamples the peak-limited 32 kHz clip to 16 kHz and takes its Kaldi fbank.
        features = fbank(soxr.resample(audio32, SAMPLE_RATE, 16000))[None]
        feed["sv_emb"] = engine.run("sv", {"fbank": features})["sv_emb"]
    ge = engine.run("ref_enc", feed)["ge"][0]
    if text[-1] not in CLOSING_MARKS:
        text += "." if language == "en" else "。"
    segments = (front_end or FrontEnd(engine)).features(text, language)
    if not segments:
        raise GsvEdgeError(f"the transcript {text!r} has no speakable words", option="text")
    return Voice(
        name=name, language=language, text=text, prompt_tokens=np.asarray(tokens, np.int64),
        phone_ids=np.concatenate([np.asarray(s.phone_ids, np.int64) for s, _ in segments]),
        bert=np.concatenate([b for _, b in segments], axis=1), ge=np.asarray(ge, np.float32),
        pack_fingerprint=manifest.fingerprint, seconds=len(audio) / rate,
    )  # fmt: skip
