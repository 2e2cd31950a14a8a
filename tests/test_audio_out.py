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
# Beside the default null device, a plain ALSA device that takes 48 kHz only, as a board's sound chip without
# PulseAudio does: its slave runs at 48 kHz, and the rate converter it names does not exist, so ALSA refuses every
# other rate instead of converting.
BOARD_ALSA = NULL_ALSA + (
    'pcm.board48 { type plug; slave { pcm { type null } rate 48000 } rate_converter "gsv_edge_no_such_converter" }\n'
)


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


def _run_with_alsa(tmp_path, config_text, code):
    config = tmp_path / "asound.conf"
    config.write_text(config_text)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(config))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                          timeout=60)  # fmt: skip


def test_device_by_name_or_index_and_resampled_when_it_refuses_32khz(tmp_path):
    code = (
        "import numpy as np\n"
        "from gsv_edge.runtime.audio_out import Player, output_devices\n"
        "chunks = [np.sin(np.arange(16000) / 10).astype(np.float32) * 0.1 for _ in range(4)]\n"
        "for device in ['board48', str(next(d.index for d in output_devices() if d.name == 'board48')), None]:\n"
        "    with Player(32000, device=device) as player:\n"
        "        for chunk in chunks:\n"
        "            player.put(chunk)\n"
        "    print(player.device['name'], player.rate, player.feeder.queued)\n"
    )
    result = _run_with_alsa(tmp_path, BOARD_ALSA, code)
    assert result.returncode == 0, result.stderr
    # 2 s at 32 kHz played as 2 s at 48 kHz on the board device (soxr), untouched on the default one. (Underruns
    # are not asserted: a device without a clock is drained as fast as the callback runs, so they depend on load.)
    assert result.stdout.splitlines() == ["board48 48000 96000", "board48 48000 96000", "default 32000 64000"]


def test_unknown_audio_device_is_a_one_line_error(tmp_path):
    code = (
        "from gsv_edge.runtime.audio_out import Player\n"
        "from gsv_edge.runtime.errors import GsvEdgeError\n"
        "for device in ['nosuchcard', '99', 'ALSA']:\n"
        "    try:\n"
        "        Player(32000, device=device)\n"
        "    except GsvEdgeError as err:\n"
        "        print(err.option, '|', err)\n"
    )
    result = _run_with_alsa(tmp_path, BOARD_ALSA, code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("audio_device | ") for line in lines)  # one line each
    assert "audio device 'nosuchcard'" in lines[0] and "no audio device 99 " in lines[1]
    assert "Multiple output devices" in lines[2] and "board48" in lines[2]  # a name part two devices share
    assert all("gsv-edge doctor" in line for line in lines)


def test_doctor_lists_output_devices_with_their_rates(tmp_path):
    config = tmp_path / "asound.conf"
    config.write_text(BOARD_ALSA)
    result = subprocess.run([sys.executable, "-m", "gsv_edge.edge.cli", "doctor"], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=dict(os.environ, ALSA_CONFIG_PATH=str(config)), timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    devices = [line.strip() for line in result.stdout.splitlines() if "audio device" in line]
    assert len(devices) == 2, result.stdout
    board = next(line for line in devices if "board48" in line)
    default = next(line for line in devices if " default (" in line)
    assert board.endswith("board48 (ALSA): rates 48000 Hz")
    assert default.endswith("default (ALSA, default): rates 16000 22050 24000 32000 44100 48000 Hz")
    assert "sound output" in result.stdout and "default (32 kHz ok)" in result.stdout


def test_readme_raw_output_line_states_rate_format_and_channels():
    """The README's aplay lines must match what --output-raw writes: 16-bit little-endian mono at the model rate."""
    from gsv_edge.runtime.vocoder import SAMPLE_RATE

    readme = (REPO_ROOT / "README.md").read_text()
    lines = [line for line in readme.splitlines() if "| aplay" in line or "\\| aplay" in line]
    assert lines
    for line in lines:
        assert f"aplay -r {SAMPLE_RATE} -f S16_LE -c 1" in line, line
    buffer = io.BytesIO()
    write_raw(np.array([0.25, -0.25], np.float32), buffer)
    assert buffer.getvalue() == np.array([8191, -8191], "<i2").tobytes()  # 2 bytes a sample, one channel, LE
