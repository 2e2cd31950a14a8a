"""Layers point one way, and the device side stays torch-free.

- ``gsv_edge.runtime`` is the library underneath: it imports neither ``gsv_edge.edge`` (CLI, servers) nor
  ``gsv_edge.convert`` (workstation), and never torch, transformers, nncf or ray.
- ``gsv_edge.edge`` never imports torch, transformers or nncf itself (workstation commands reach ``convert``
  inside the command, so the device commands never load it).
- ``gsv_edge.convert`` uses the runtime's pack contract, nothing of the CLI.
- ``import gsv_edge`` and every runtime module load neither typer, nor ``convert``, nor a framework.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

FRAMEWORKS = {"torch", "transformers", "nncf"}
LAYERS = {"runtime": "gsv_edge.runtime", "edge": "gsv_edge.edge", "convert": "gsv_edge.convert"}
# What each layer's files may never import (module prefixes).
FORBIDDEN = {
    "runtime": FRAMEWORKS | {"gsv_edge.edge", "gsv_edge.convert", "typer", "ray"},
    "edge": FRAMEWORKS,
    "convert": {"gsv_edge.edge"},
}


def _module_name(path: Path) -> str:
    folder, *rest = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join([LAYERS[folder], *rest]).removesuffix(".__init__")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (relative imports resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _files(layer: str) -> list[Path]:
    return sorted((REPO_ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize(
    "path", [p for layer in LAYERS for p in _files(layer)], ids=lambda p: str(p.relative_to(REPO_ROOT))
)
def test_layer_imports_point_one_way(path):
    layer = path.relative_to(REPO_ROOT).parts[0]
    for line, name in _imports(path):
        for banned in FORBIDDEN[layer]:
            assert not (name == banned or name.startswith(banned + ".")), f"{path}:{line} imports {name}"


def test_every_module_is_under_the_one_namespace():
    """No file imports the old top-level names (runtime, edge, convert, profiles): only gsv_edge.*."""
    for layer in LAYERS:
        for path in _files(layer):
            for line, name in _imports(path):
                assert name.split(".")[0] not in {"runtime", "edge", "convert", "profiles"}, f"{path}:{line}"


def _loaded_after_importing(modules: list[str], watch: list[str]) -> list[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(','.join(sorted(m for m in {watch!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def test_the_runtime_loads_no_framework_cli_or_converter():
    modules = ["gsv_edge", *(_module_name(p) for p in _files("runtime") if p.name != "__main__.py")]
    watch = [*sorted(FRAMEWORKS), "typer", "click", "gsv_edge.edge", "gsv_edge.convert"]
    assert _loaded_after_importing(modules, watch) == []


def test_the_command_line_loads_no_framework():
    modules = [_module_name(p) for p in _files("edge") if p.name != "__main__.py"]
    assert _loaded_after_importing(modules, [*sorted(FRAMEWORKS), "gsv_edge.convert"]) == []


def test_the_plain_server_loads_no_ray():
    """Ray Serve is the cluster extra's: the CLI and ``gsv-edge serve``'s modules run without it (only
    ``edge/serve/ray_app.py``, which ``serve --ray`` imports when it runs, loads it)."""
    plain = [_module_name(p) for p in _files("edge") if p.name not in ("__main__.py", "ray_app.py")]
    assert _loaded_after_importing(plain, ["ray"]) == []


def test_public_surface():
    """``from gsv_edge import Synthesizer`` and the other public names work, and importing gsv_edge alone loads
    nothing of the layers (each name is imported on first use)."""
    code = (
        "import json, sys, gsv_edge\n"
        "bare = sorted(m for m in sys.modules if m.startswith('gsv_edge.') or m in ('numpy', 'typer'))\n"
        "from gsv_edge import Synthesizer, SpeechOptions, AudioChunk, Voice, Settings, GsvEdgeError\n"
        "print(json.dumps([bare, gsv_edge.__all__, Synthesizer.__module__]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    bare, names, module = json.loads(done.stdout)
    assert bare == []
    assert {"Synthesizer", "SpeechOptions", "AudioChunk", "Voice", "Settings", "GsvEdgeError"} <= set(names)
    assert module == "gsv_edge.runtime.synthesizer"


def test_conversion_sends_no_usage_report():
    """OpenVINO's converter and NNCF report usage over the network unless opted out, OpenVINO's by forking from a
    background thread (which deadlocked a conversion against numpy's BLAS threads): with ``convert`` imported,
    both use their stand-ins, in a fresh process where nothing else decided it first."""
    code = (
        "import gsv_edge.convert\n"
        "from openvino.tools.ovc import telemetry_utils\n"
        "from nncf.telemetry import wrapper\n"
        "print(telemetry_utils.tm.__name__, type(wrapper.telemetry).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert result.stdout.split() == ["openvino.tools.ovc.telemetry_stub", "MagicMock"]


def test_checkpoint_and_versions_do_not_import_each_other():
    """Reading a checkpoint (which decides its version) is underneath pairing two of them: versions imports
    checkpoint, never the reverse, not even inside a function."""
    checkpoint, versions = REPO_ROOT / "convert" / "checkpoint.py", REPO_ROOT / "convert" / "versions.py"
    assert [name for _, name in _imports(checkpoint) if name.startswith("gsv_edge.convert.versions")] == []
    assert "gsv_edge.convert.checkpoint" in {name for _, name in _imports(versions)}


def test_every_convert_module_imports_first():
    """Each convert module imports on its own, as the first module of the package loaded: an import cycle
    fails one of these orders."""
    modules = [_module_name(p) for p in _files("convert") if p.name != "__main__.py"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('gsv_edge.convert')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
