"""Torch reference models with the official state-dict names, sized from each checkpoint's own config."""

from __future__ import annotations


def build_gpt(model_config: dict):
    """An untrained Text2SemanticDecoder for this config (load a state dict into it)."""
    from gsv_edge.convert.reference.gpt import Text2SemanticDecoder

    return Text2SemanticDecoder(model_config)


def build_sovits(model_config: dict, version: str):
    """An untrained SynthesizerTrn (inference path) for this config and version."""
    from gsv_edge.convert.reference.sovits import SynthesizerTrn

    return SynthesizerTrn(model_config, version)
