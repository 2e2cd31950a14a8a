"""NNCF passes, one per graph kind, chosen by the profile's weight formats (see profiles/*.toml).

- t2s: weight-only compression. Decode reads every weight once per token, so fewer bytes per weight is
  directly fewer milliseconds. INT8 is per-channel asymmetric; INT4 is symmetric in groups of 64 with the
  first and last layers kept at INT8 (NNCF's default for ratio < 1), optionally data-aware.
"""

from __future__ import annotations

from edge.errors import UserError

T2S_FORMATS = ("fp32", "fp16", "int8", "int4")


def compress_t2s(model, weight_format: str, dataset=None):
    """Return the t2s OpenVINO model with its weights compressed to ``weight_format``.

    ``dataset`` (an ``nncf.Dataset`` of real prefill inputs) makes INT4 data-aware (AWQ-style scale search);
    without it INT4 is data-free.
    """
    import nncf

    if weight_format not in T2S_FORMATS:
        raise UserError(f"unknown t2s weight format {weight_format!r}; choose one of {', '.join(T2S_FORMATS)}")
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


SOVITS_FORMATS = ("fp16", "int8", "fp32")


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
