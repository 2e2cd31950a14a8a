"""The judging step of `make check-arm64` (scripts/arm64_parity.py compare) on hand-made result folders: it passes
what matches, and fails on a changed token, noisy audio or a missing aarch64 run. (The emulated runs themselves
are `make check-arm64`, which CI calls after the suite.)"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tests.conftest import REPO_ROOT


def _result(rng_seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(rng_seed)
    return {
        "logits": rng.standard_normal((41, 1025)).astype(np.float32),
        "vocoded": rng.standard_normal(76800).astype(np.float32),
        "speech_audio": rng.standard_normal(40960).astype(np.float32),
        "speech_tokens": rng.integers(0, 1024, 32),
        "enroll_codes": rng.integers(0, 1024, 100),
        "enroll_ge": rng.standard_normal(512).astype(np.float32),
    }


def _write(folder, arrays, machine):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "fp32-onnxruntime.npz", **arrays)
    meta = {"machine": machine, "pack": "fp32", "backend": "onnxruntime", "openvino": "2026.4.1-1",
            "onnxruntime": "1.32.0", "error": None, "seconds": 1.0}  # fmt: skip
    (folder / "fp32-onnxruntime.json").write_text(json.dumps(meta))


def _compare(work):
    command = [sys.executable, str(REPO_ROOT / "scripts" / "arm64_parity.py"), "compare", str(work),
               "--packs", "fp32", "--backends", "onnxruntime"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


def test_compare_passes_matching_results_and_fails_each_kind_of_miss(tmp_path):
    base = _result()
    _write(tmp_path / "x86_64", base, "x86_64")
    close = dict(base, speech_audio=base["speech_audio"] * np.float32(1 + 1e-5))  # ~100 dB
    _write(tmp_path / "aarch64-cortex-a72", close, "aarch64")
    result = _compare(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check-arm64: 6 passed, 0 failed" in result.stdout
    assert "32 identical" in result.stdout

    flipped = base["speech_tokens"].copy()
    flipped[5] = (flipped[5] + 1) % 1024
    noisy = base["vocoded"] + np.float32(0.01) * _result(1)["vocoded"]  # 40 dB
    _write(tmp_path / "aarch64-cortex-a72", dict(close, speech_tokens=flipped, vocoded=noisy), "aarch64")
    result = _compare(tmp_path)
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 2, result.stdout
    assert "speech tokens" in failed[0] and "DIFFER" in failed[0]
    assert "vocoded SNR dB" in failed[1] and "40.0" in failed[1]


def test_compare_fails_without_aarch64_results(tmp_path):
    _write(tmp_path / "x86_64", _result(), "x86_64")
    result = _compare(tmp_path)
    assert result.returncode == 1
    assert "aarch64 results" in result.stdout and "0 passed, 1 failed" in result.stdout
