"""Token-level streaming: vocode a segment's semantic tokens while the GPT is still making them.

The first ``first_chunk_tokens`` tokens are vocoded as soon as they exist (0.48 s of audio at the laptop
profile's 12); each later chunk is twice the one before, up to ``chunk_tokens``, and rounded down to whole
decoder windows (``StreamingSettings.next_chunk``: a decoder call costs the same however few of its frames are new).
For each chunk:

1. ``sovits_enc`` runs on every token so far (the prefix). Its transformers attend over the whole token
   sequence, so a prefix's prior is not exactly the whole utterance's: the last ``lookahead_tokens`` tokens
   are held back (they serve as right context), and the rest is accepted as it is. How close the stream then
   is to a whole-utterance decode depends on how local the model's attention is (see ``README``).
2. The prior is sampled with noise drawn frame by frame from the segment's own generator, so frame ``i`` gets
   the same noise however the segment is chunked (``FrameNoise``); a whole decode draws it the same way.
3. ``sovits_dec`` decodes the new frames with ``left_context_tokens`` of context on the left and what is
   available on the right. Each chunk also decodes ``crossfade_ms`` past its end; the next chunk fades in
   over that tail, which hides the seam where two prefix priors meet.

At speed ≠ 1 output frame ``j`` reads the 50 Hz prior at ``(j + 0.5) · speed − 0.5`` (linear interpolation),
the rule a whole decode uses up to its rounding of the total length.
"""

from __future__ import annotations

import numpy as np

from gsv_edge.runtime.settings import StreamingSettings
from gsv_edge.runtime.vocoder import (
    DECODER_CONTEXT_FRAMES,
    FRAMES_PER_TOKEN,
    SAMPLES_PER_FRAME,
    FrameNoise,
    decode_span,
    frames_for,
    interpolate,
    prior_sample,
    sample_positions,
)


def ready_frames(settled_source: int, speed: float) -> int:
    """How many output frames can be made when the prior is settled for ``settled_source`` 50 Hz frames."""
    if speed == 1:
        return settled_source
    # frame j needs source index ceil((j + 0.5)·speed − 0.5) < settled_source
    return max(0, int(np.floor((settled_source - 1 + 0.5) / speed - 0.5)) + 1)


class SegmentStreamer:
    """Vocodes one segment's tokens as they arrive: ``push`` each token, then ``finish``.

    Both return float32 audio (possibly empty) to play in order; their concatenation is the segment.
    """

    def __init__(
        self,
        encoder,
        decoder,
        phones,
        ge,
        plan: StreamingSettings,
        noise_scale: float = 0.5,
        speed: float = 1.0,
        rng: np.random.Generator | None = None,
    ):
        self.encoder, self.decoder, self.plan = encoder, decoder, plan
        self.phones = np.asarray(phones, np.int64)[None]
        self.ge = np.asarray(ge, np.float32)[None]
        self.noise_scale, self.speed = noise_scale, speed
        self.noise = FrameNoise(rng or np.random.default_rng())
        self.tokens: list[int] = []
        self.emitted = 0  # output frames already handed out
        self.tail = np.zeros(0, np.float32)  # audio just past `emitted`, to cross-fade into
        self.step = plan.first_chunk_tokens
        self.next_at = plan.first_chunk_tokens + plan.lookahead_tokens
        self.chunks = 0

    def push(self, token: int) -> np.ndarray:
        self.tokens.append(int(token))
        if len(self.tokens) < self.next_at:
            return np.zeros(0, np.float32)
        # Chunks double up to chunk_tokens: each is made while the audio before it plays, so it must not take
        # longer than that audio lasts; bigger chunks then waste less on context.
        self.step = self.plan.next_chunk(self.step)
        self.next_at = len(self.tokens) + self.step
        return self._vocode(final=False)

    def finish(self) -> np.ndarray:
        return self._vocode(final=True) if self.tokens else np.zeros(0, np.float32)

    def _vocode(self, final: bool) -> np.ndarray:
        n = len(self.tokens)
        m, logs = self.encoder.run(np.asarray(self.tokens, np.int64)[None], self.phones, self.ge)
        source = FRAMES_PER_TOKEN * n
        if final:
            end = frames_for(n, self.speed)
            available = end
        else:
            available = ready_frames(source, self.speed)
            end = ready_frames(FRAMES_PER_TOKEN * (n - self.plan.lookahead_tokens), self.speed)
            end = min(end, available - DECODER_CONTEXT_FRAMES)  # the decoder's reach past what is kept
        if end <= self.emitted:
            return np.zeros(0, np.float32)
        # The prior for every frame so far (cheap), so the decoder's window can reach as far left as it holds.
        positions = sample_positions(0, available, self.speed, source)
        noise = self.noise.first(available)
        z_p = prior_sample(interpolate(m, positions), interpolate(logs, positions), noise, self.noise_scale)
        tail = 0 if final else -(-self.plan.crossfade_samples // SAMPLES_PER_FRAME)
        left = FRAMES_PER_TOKEN * self.plan.left_context_tokens
        audio = decode_span(
            self.decoder, z_p, self.ge, self.emitted, end, final,
            left_context=left, tail=tail, windows=self.plan.decoder_windows,
        )  # fmt: skip
        stop = (end - self.emitted) * SAMPLES_PER_FRAME
        out = np.array(audio[:stop], np.float32)
        fade = min(len(self.tail), len(out))
        if fade:
            ramp = (np.arange(fade, dtype=np.float32) + 0.5) / fade
            out[:fade] = self.tail[:fade] * (1 - ramp) + out[:fade] * ramp
        self.tail = np.array(audio[stop : stop + self.plan.crossfade_samples], np.float32)
        self.emitted = end
        self.chunks += 1
        return out
