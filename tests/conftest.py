"""Shared fixtures: where the upstream conformance data lives, and how to skip or fail without it."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The conformance data sits beside the checkout (../shared/conformance); GSV_CONFORMANCE overrides it.
CONFORMANCE_DIR = Path(os.environ.get("GSV_CONFORMANCE", REPO_ROOT.parent / "shared" / "conformance"))
SOVITS_VARIANTS = ["v1-tiny", "v2-tiny", "v2pro-tiny"]


def require_conformance(sub: str = "") -> Path:
    """Return CONFORMANCE_DIR/sub, skipping the test when it is absent (failing under CI=true)."""
    path = CONFORMANCE_DIR / sub
    if not path.exists():
        message = (
            f"conformance data not found at {path}: put GPT-SoVITS conformance data in ../shared/conformance "
            "beside the checkout, or set GSV_CONFORMANCE"
        )
        missing(message)
    return path


def missing(message: str) -> None:
    """A test's system package or data is missing: skip it with ``message`` (naming what to install), or fail under
    CI=true, where .ci/run installs everything and a skip would hide a broken set-up."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_portaudio() -> None:
    """Skip (fail under CI=true) unless sounddevice finds the PortAudio library (Debian: libportaudio2)."""
    try:
        import sounddevice  # noqa: F401 - it loads PortAudio on import and raises OSError without it
    except OSError as error:
        missing(f"PortAudio is not installed ({error}): sudo apt-get install libportaudio2")


@pytest.fixture(autouse=True, scope="session")
def _private_cache_folder(tmp_path_factory):
    """A successful pack check is recorded in the user's cache folder ($XDG_CACHE_HOME): the tests keep theirs
    (and the CLI subprocesses they start) in a folder of their own."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    return require_conformance()


@pytest.fixture(params=SOVITS_VARIANTS)
def variant_dir(request) -> Path:
    """One of the tiny upstream-made model variants (v1-tiny, v2-tiny, v2pro-tiny)."""
    return require_conformance(request.param)


@lru_cache(maxsize=1)
def text_cases() -> tuple[dict, ...]:
    """Every case of ../shared/conformance/text/cases.jsonl (skipped, or failed under CI, without the data)."""
    path = require_conformance("text") / "cases.jsonl"
    with open(path, encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


def text_case_ids(stage: str, keep) -> list[str]:
    """Ids of the text cases of ``stage`` that ``keep`` accepts. Collection must not fail without the data: then
    nothing is collected (under CI=true the missing folder still fails the run)."""
    try:
        cases = text_cases()
    except pytest.skip.Exception:
        return []
    return [c["id"] for c in cases if c["stage"] == stage and keep(c)]


def text_case(case_id: str) -> dict:
    return next(c for c in text_cases() if c["id"] == case_id)


def load_cases(variant_path: Path) -> dict[str, np.ndarray]:
    with np.load(variant_path / "cases.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def runtime_pack(tmp_path_factory) -> Path:
    """The v2-tiny conformance model converted with the laptop profile, with HuBERT and BERT (voice graphs)."""
    from gsv_edge.convert.convert import ConvertOptions, convert

    folder, hf = require_conformance("v2-tiny"), require_conformance("hf")
    out = tmp_path_factory.mktemp("runtime") / "pack"
    convert(
        ConvertOptions(
            folder / "gpt.ckpt", folder / "sovits.pth", out,
            hubert=hf / "chinese-hubert-base-tiny", bert=hf / "chinese-roberta-tiny",
        )
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def reference_clip(tmp_path_factory) -> Path:
    """A 4 s synthetic voice-like clip at 44.1 kHz."""
    import soundfile as sf

    from gsv_edge.convert.passes.common import synthetic_voice

    path = tmp_path_factory.mktemp("clips") / "ref.wav"
    sf.write(path, synthetic_voice(44100, 4.0, 5), 44100)
    return path
