"""The device side (runtime/, edge/) never imports torch, transformers or nncf."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

FORBIDDEN = {"torch", "transformers", "nncf"}
DEVICE_PACKAGES = ("runtime", "edge")


def _device_files():
    for package in DEVICE_PACKAGES:
        yield from sorted((REPO_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", list(_device_files()), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_direct_import_of_heavy_frameworks(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{path}:{node.lineno} imports {name}"


def test_importing_the_device_side_loads_no_framework():
    modules = sorted(
        ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in _device_files()
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"leaked = sorted(m for m in {sorted(FORBIDDEN)!r} if m in sys.modules)\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert result.stdout.strip() == "", f"importing runtime/edge loaded {result.stdout.strip()}"


def test_conversion_sends_no_usage_report():
    """OpenVINO's converter and NNCF report usage over the network unless opted out, OpenVINO's by forking from a
    background thread (which deadlocked a conversion against numpy's BLAS threads): with ``convert`` imported,
    both use their stand-ins, in a fresh process where nothing else decided it first."""
    code = (
        "import convert\n"
        "from openvino.tools.ovc import telemetry_utils\n"
        "from nncf.telemetry import wrapper\n"
        "print(telemetry_utils.tm.__name__, type(wrapper.telemetry).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert result.stdout.split() == ["openvino.tools.ovc.telemetry_stub", "MagicMock"]
