"""Shared fixtures: where the upstream conformance data lives, and how to skip or fail without it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The conformance data sits beside the checkout (../shared/conformance); GSV_CONFORMANCE overrides it.
CONFORMANCE_DIR = Path(os.environ.get("GSV_CONFORMANCE", REPO_ROOT.parent / "shared" / "conformance"))
SOVITS_VARIANTS = ["v1-tiny", "v2-tiny", "v2pro-tiny"]


def require_conformance(sub: str = "") -> Path:
    """Return CONFORMANCE_DIR/sub, skipping the test when it is absent (failing under CI=true)."""
    path = CONFORMANCE_DIR / sub
    if not path.exists():
        message = (
            f"conformance data not found at {path}: put GPT-SoVITS conformance data in ../shared/conformance "
            "beside the checkout, or set GSV_CONFORMANCE"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    return require_conformance()


@pytest.fixture(params=SOVITS_VARIANTS)
def variant_dir(request) -> Path:
    """One of the tiny upstream-made model variants (v1-tiny, v2-tiny, v2pro-tiny)."""
    return require_conformance(request.param)


def load_cases(variant_path: Path) -> dict[str, np.ndarray]:
    with np.load(variant_path / "cases.npz") as data:
        return {key: data[key] for key in data.files}
