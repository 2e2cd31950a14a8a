"""What several passes share: fixed check inputs, the calibration sentences, the synthetic test voice, saving
OpenVINO IR and ONNX Runtime's weight quantization."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Inputs for the accuracy checks: fixed, seeded, shaped like a short sentence with a voice prompt.
CHECK_PHONES = 40
CHECK_PROMPT = 50
CHECK_STEPS = 40

# OpenVINO compile config for the fp32 checks against the reference: plain f32 whatever the CPU prefers.
F32 = {"INFERENCE_PRECISION_HINT": "f32"}

# Real sentences for data-aware INT4 and the BERT's calibration: their phones come from our own text front end.
CALIBRATION_TEXTS = (
    "今天天气很好，我们一起去公园散步吧。",
    "这个模型可以在树莓派上离线运行，不需要联网。",
    "请在听到提示音之后留言，我们会尽快给您回电话。",
    "二零二四年三月十五日，气温是十八摄氏度。",
    "你知道最近的地铁站怎么走吗？",
    "谢谢你的帮助，祝你周末愉快！",
)


def synthetic_voice(rate: int, seconds: float, seed: int) -> np.ndarray:
    """A voiced-sounding test signal: harmonics of a slowly wobbling f0 plus a little noise, peak 0.5."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 150 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    wave = sum(a * np.sin(h * phase) for h, a in enumerate((1, 0.6, 0.45, 0.3, 0.2), start=1))
    wave = wave + 0.02 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.5 * wave / np.abs(wave).max()).astype(np.float32)


def save_openvino(model, staging: Path, stem: str, fp16: bool = False) -> list[str]:
    """``stem``.xml/.bin in the staging folder; returns their names for the manifest."""
    import openvino as ov

    ov.save_model(model, staging / f"{stem}.xml", compress_to_fp16=fp16)
    return [f"{stem}.xml", f"{stem}.bin"]


def quantize_onnx(source: Path, fmt: str, target: Path, row_independent: bool = False) -> Path:
    """ONNX Runtime's own weight quantization: dynamic INT8 MatMuls, or 4-bit MatMulNBits (block 64).

    ``row_independent`` (the GPT): INT8 as 8-bit MatMulNBits with int8 compute (accuracy level 4), whose
    activations are quantized per row and block of 64. Dynamic INT8 quantizes a MatMul's whole input with one
    scale, so in a batched decode step one stream's numbers would change another's logits; with per-row scales a
    stream's row gets exactly the logits it gets alone, at the same speed.
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # ORT logs a pre-processing hint on every call
    try:
        if fmt == "int8" and not row_independent:
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
        else:
            bits, accuracy = (8, 4) if fmt == "int8" else (4, 0)
            quantizer = MatMulNBitsQuantizer(
                onnx.load(str(source)), bits=bits, block_size=64, is_symmetric=True, accuracy_level=accuracy
            )
            quantizer.process()
            quantizer.model.save_model_to_file(str(target))
    finally:
        root.level = level
    return target
