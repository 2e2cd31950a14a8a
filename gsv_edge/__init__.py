"""gsv-edge: GPT-SoVITS voice cloning offline on small machines, torch-free on the device.

    from gsv_edge import Synthesizer

    synth = Synthesizer.load("packs/myvoice-laptop")
    voice = synth.voice("alice")
    for chunk in synth.stream("Hello there.", voice, language="en"):
        play(chunk.samples, chunk.sample_rate)

The public names below are imported on first use, so ``import gsv_edge`` (which every ``gsv_edge.*`` import
runs first) loads nothing heavy: not numpy, not typer, never torch. The layers live in subpackages:
``gsv_edge.runtime`` (the device library), ``gsv_edge.edge`` (the command line), ``gsv_edge.convert``
(the workstation side, needs the ``convert`` extra) and ``gsv_edge.profiles`` (device profiles as data).
"""

from __future__ import annotations

import importlib

# public name -> the module that defines it
_PUBLIC = {
    "Synthesizer": "gsv_edge.runtime.synthesizer",
    "SpeechOptions": "gsv_edge.runtime.synthesizer",
    "SpeechStream": "gsv_edge.runtime.synthesizer",
    "AudioChunk": "gsv_edge.runtime.synthesizer",
    "Audio": "gsv_edge.runtime.synthesizer",
    "Voice": "gsv_edge.runtime.voices",
    "save_voice": "gsv_edge.runtime.voices",
    "enroll_voice": "gsv_edge.runtime.enroll",
    "Settings": "gsv_edge.runtime.settings",
    "load_profile": "gsv_edge.runtime.profile",
    "GsvEdgeError": "gsv_edge.runtime.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'gsv_edge' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
