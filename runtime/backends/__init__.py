"""Inference backends behind one small interface: OpenVINO (default) and ONNX Runtime (fallback)."""
