"""`pip install .` puts exactly one import package, gsv_edge, into site-packages, and the command works.

A real fresh venv gets the built wheel. Its dependencies are not downloaded again: a .pth file puts the
development venv's site-packages behind the fresh one (a path added that way is searched, but its own .pth files,
such as the editable install's finder, are not run), so what is imported as gsv_edge is the wheel's copy.
"""

from __future__ import annotations

import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), "."],
        cwd=REPO_ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = out.glob("gsv_edge-*.whl")
    return built


def test_the_wheel_holds_one_import_package(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/top_level.txt")) if any(
            n.endswith("top_level.txt") for n in names) else None  # fmt: skip
        top_level = archive.read(info).decode().split() if info else None
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"gsv_edge"}
    assert top_level in (None, ["gsv_edge"])
    assert "gsv_edge/profiles/laptop.toml" in names  # the bundled profiles travel as package data
    assert "gsv_edge/runtime/synthesizer.py" in names and "gsv_edge/edge/cli.py" in names


def test_every_source_package_is_listed_for_the_wheel():
    """pyproject lists the packages by hand (package-dir maps them): a new subpackage must be added there."""
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    layers = {"runtime": "gsv_edge.runtime", "edge": "gsv_edge.edge", "convert": "gsv_edge.convert",
              "profiles": "gsv_edge.profiles", "gsv_edge": "gsv_edge"}  # fmt: skip
    found = set()
    for folder, package in layers.items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO_ROOT / folder).parts
            found.add(".".join([package, *parts]))
    assert found == listed


def test_a_fresh_venv_gets_gsv_edge_and_the_command_works(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    target = Path(purelib)
    installed = sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info"))
    assert installed == ["gsv_edge"]
    (target / "zz-dev-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    where = subprocess.run(
        [python, "-c", "import gsv_edge.runtime.synthesizer as s, importlib.util as u; print(s.__file__); "
         "print(u.find_spec('runtime'))"],
        capture_output=True, text=True, check=True, cwd=tmp_path,  # not the checkout: its gsv_edge/ would shadow
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(target) and where[1] == "None"
    command = subprocess.run([venv / "bin" / "gsv-edge", "--help"], capture_output=True, text=True, timeout=60,
                             cwd=tmp_path)  # fmt: skip
    assert command.returncode == 0 and "inspect" in command.stdout
    doctor = subprocess.run([venv / "bin" / "gsv-edge", "doctor"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)  # fmt: skip
    assert doctor.returncode == 0 and "onnxruntime" in doctor.stdout, doctor.stderr
