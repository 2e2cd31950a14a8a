"""What every exported graph shares: converting a torch module to OpenVINO or ONNX with named ports."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

OPSET = 17


def name_ports(model, inputs: list[str], outputs: list[str]):
    """Give an OpenVINO model's ports the names the runtime feeds and reads (replacing tracer names)."""
    for port, name in zip(model.inputs, inputs, strict=True):
        port.get_tensor().set_names({name})
    for port, name in zip(model.outputs, outputs, strict=True):
        port.get_tensor().set_names({name})
    return model


def to_openvino(graph: nn.Module, inputs: list[str], outputs: list[str], shapes, example=None):
    """Trace ``graph`` on its example inputs into an OpenVINO model with the given (partial) input shapes."""
    import openvino as ov

    with torch.no_grad():
        model = ov.convert_model(graph, example_input=example or graph.example_inputs(), input=shapes)
    return name_ports(model, inputs, outputs)


def to_onnx(graph: nn.Module, path: str | Path, inputs: list[str], outputs: list[str], dynamic: dict) -> Path:
    """Export with the TorchScript exporter (stable for these graphs) and dynamic axes."""
    path = Path(path)
    with torch.no_grad():
        torch.onnx.export(
            graph, graph.example_inputs(), str(path), input_names=inputs, output_names=outputs,
            dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    return path
