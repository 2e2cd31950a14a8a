"""NNCF passes, one per graph kind, chosen by the profile's weight formats (see profiles/*.toml).

- t2s: weight-only compression. Decode reads every weight once per token, so fewer bytes per weight is
  directly fewer milliseconds. INT8 is per-channel asymmetric; INT4 is symmetric in groups of 64 with the
  first and last layers kept at INT8 (NNCF's default for ratio < 1), optionally data-aware.
"""

from __future__ import annotations

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.profile import T2S_FORMATS


def compress_t2s(model, weight_format: str, dataset=None):
    """Return the t2s OpenVINO model with its weights compressed to ``weight_format``.

    ``dataset`` (an ``nncf.Dataset`` of real prefill inputs) makes INT4 data-aware (AWQ-style scale search);
    without it INT4 is data-free.
    """
    import nncf

    if weight_format not in T2S_FORMATS:
        raise GsvEdgeError(f"unknown t2s weight format {weight_format!r}; choose one of {', '.join(T2S_FORMATS)}")
    if weight_format == "fp32":
        return model
    if weight_format == "fp16":
        return model  # saved with compress_to_fp16=True; computed in f32/bf16 at run time
    if weight_format == "int8":
        return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    options = {"mode": nncf.CompressWeightsMode.INT4_SYM, "group_size": 64, "ratio": 1.0}
    if dataset is not None:
        options.update(dataset=dataset, awq=True, sensitivity_metric=nncf.SensitivityMetric.HESSIAN_INPUT_ACTIVATION)
    return nncf.compress_weights(model, **options)


def quantize_sovits_decoder(model, dataset, samples: int):
    """INT8 post-training quantization of sovits_dec (weights and activations), keeping the first and last
    convolutions in float: they shape the waveform directly and lose the most (measured: ~28 dB SNR vs fp32
    on the demo model with them excluded). ``dataset``: ``nncf.Dataset`` of {"z_p", "ge"} samples."""
    import nncf

    convs = [
        op.get_friendly_name()
        for op in model.get_ops()
        if op.get_type_name() in ("Convolution", "ConvolutionBackpropData")
        and any(key in op.get_friendly_name() for key in ("conv_pre", "conv_post"))
    ]
    return nncf.quantize(
        model, dataset, subset_size=samples,
        ignored_scope=nncf.IgnoredScope(names=convs, validate=False),
    )  # fmt: skip


def quantize_bert(model, samples: list[dict]):
    """INT8 post-training quantization of the trimmed BERT (weights and activations), transformer-aware."""
    import nncf

    return nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples), model_type=nncf.ModelType.TRANSFORMER)


def quantize_sovits_encoder_onnx(source, target, node_filter: str):
    """8-bit weights for the MatMuls of the ONNX sovits_enc whose names contain ``node_filter`` (its FFNs, made
    MatMuls by ``export.sovits.with_ffn_matmuls``), symmetric in blocks of 32, activations quantized per block
    at run time (accuracy level 4: ONNX Runtime's int8 kernels).

    Measured on the full-size demo model, prior vs fp32: 40 dB SNR at the fp32 encoder's speed; blocks of 128
    gave 38.5 dB; 8-bit weights everywhere else too gave 33-37 dB for 8 MB more saved.
    """
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(source))
    others = [n.name for n in model.graph.node if n.op_type == "MatMul" and node_filter not in n.name]
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # ORT logs every node it quantizes
    try:
        quantizer = MatMulNBitsQuantizer(
            model, bits=8, block_size=32, is_symmetric=True, accuracy_level=4, nodes_to_exclude=others
        )
        quantizer.process()
        quantizer.model.save_model_to_file(str(target))
    finally:
        root.level = level
    quantized = [n for n in onnx.load(str(target)).graph.node if n.op_type == "MatMulNBits"]
    if not quantized:
        raise RuntimeError(f"no MatMul named *{node_filter}* was quantized in {source}")
    return target
