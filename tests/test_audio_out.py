"""Audio out: the playback callback (called directly), a real stream to ALSA's null device, WAV and raw PCM."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

from gsv_edge.runtime.audio_out import ChunkFeeder, to_int16, write_raw, write_wav
from tests.conftest import REPO_ROOT, require_portaudio

NULL_ALSA = "pcm.!default { type null }\nctl.!default { type hw card 0 }\n"


def _blocks(feeder, count, size=4):
    out = []
    for _ in range(count):
        block = np.full(size, -9.0, np.float32)
        feeder.fill(block)
        out.append(block.copy())
    return np.concatenate(out)


def test_prefill_then_chunks_in_order_across_boundaries():
    feeder = ChunkFeeder(prefill=6)
    feeder.put(np.arange(1, 4, dtype=np.float32))  # 3 samples: below the pre-fill
    assert _blocks(feeder, 1).tolist() == [0, 0, 0, 0] and feeder.underruns == 0  # waiting is not an underrun
    feeder.put(np.arange(4, 8, dtype=np.float32))  # 7 buffered: start
    assert _blocks(feeder, 1).tolist() == [1, 2, 3, 4]
    feeder.put(np.arange(8, 10, dtype=np.float32))
    assert _blocks(feeder, 1).tolist() == [5, 6, 7, 8]


def test_underrun_fills_silence_and_is_counted():
    feeder = ChunkFeeder(prefill=2)
    feeder.put(np.ones(6, np.float32))
    assert _blocks(feeder, 2).tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert feeder.underruns == 1
    feeder.put(np.full(2, 2.0, np.float32))
    assert _blocks(feeder, 1).tolist() == [2, 2, 0, 0] and feeder.underruns == 2


def test_close_drains_and_finishes_without_underrun():
    feeder = ChunkFeeder(prefill=100)
    feeder.put(np.ones(5, np.float32))
    feeder.close()  # closing starts playback even below the pre-fill
    assert _blocks(feeder, 2).tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert feeder.finished.is_set() and feeder.underruns == 0


def test_real_stream_to_alsa_null_device(tmp_path):
    require_portaudio()
    config = tmp_path / "asound.conf"
    config.write_text(NULL_ALSA)
    code = (
        "import numpy as np\n"
        "from runtime.audio_out import play\n"
        "chunks = [np.sin(np.arange(16000) / 10).astype(np.float32) * 0.1 for _ in range(4)]\n"
        "print('underruns', play(chunks, 32000))\n"
    )
    env = dict(os.environ, ALSA_CONFIG_PATH=str(config))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "underruns 0"


def test_wav_and_raw_pcm(tmp_path):
    audio = np.array([0.0, 0.5, -0.5, 1.5, -2.0], np.float32)
    assert to_int16(audio).tolist() == [0, 16383, -16383, 32767, -32767]
    path = write_wav(tmp_path / "a.wav", audio, 32000)
    data, rate = sf.read(path, dtype="int16")
    assert rate == 32000 and data.tolist() == to_int16(audio).tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temp file left
    buffer = io.BytesIO()
    write_raw(audio, buffer)
    assert np.frombuffer(buffer.getvalue(), "<i2").tolist() == to_int16(audio).tolist()
