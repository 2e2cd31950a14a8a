"""Careless and hostile places to write and read: FIFOs, devices, symlinks, folders, read-only and full disks,
junk on stdin, text that arrives over time, interrupted conversions and two enrollments of one name. Each case
runs the real command in a subprocess, as a user meets it; the error is one line with exit code 2, and nothing is
left half-written or replaced that should have been written through."""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.voices import load_voice, save_voice
from tests.conftest import REPO_ROOT, require_conformance
from tests.test_cli import assert_one_line_error
from tests.test_hostile import voiced  # noqa: F401 - the module's pack with a voice 'v'

CLI = [sys.executable, "-m", "gsv_edge.edge.cli"]


def run(*args, stdin: bytes | None = None, file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:  # in the child: writes beyond this many bytes fail with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [*CLI, *map(str, args)], input=stdin, capture_output=True, cwd=REPO_ROOT,
        preexec_fn=limit if file_size_limit else None, timeout=300,
    )  # fmt: skip


def as_text(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    result.stderr = result.stderr.decode()
    return result


def say_args(pack, output, text="你好。"):
    return ["say", text, "--pack", pack, "--voice", "v", "--lang", "zh", "--seed", "1", "-o", output]


@contextlib.contextmanager
def read_only(folder):
    """``folder`` made read-only for this process. Root ignores permission bits, so as root a read-only tmpfs is
    mounted over it (nothing else needs the folder meanwhile)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    held = {child.name: child.read_bytes() for child in folder.iterdir() if child.is_file()}
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], check=True)
    try:
        for name, data in held.items():  # the same files, on the read-only mount
            (folder / name).write_bytes(data)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def small_disk(folder, size: str = "3m"):
    """``folder`` on a file system of ``size`` (a tmpfs; root only). Yields the size limit to give a child
    instead (RLIMIT_FSIZE) where mounting is not possible."""
    if os.geteuid() != 0:
        yield 3_000_000
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield None
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- -o: what it writes onto ------------------------------------------------------------------------------------


def test_o_writes_through_a_fifo(voiced, tmp_path):  # noqa: F811
    fifo = tmp_path / "speech.fifo"
    os.mkfifo(fifo)
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(fifo.read_bytes()))
    reader.start()
    result = run(*say_args(voiced, fifo))
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO must not be replaced by a file"
    (tmp_path / "got.wav").write_bytes(received)
    audio, rate = sf.read(tmp_path / "got.wav")
    assert rate == 32000 and len(audio) == (len(received) - 44) // 2 > 3200


def test_o_writes_through_a_symlink(voiced, tmp_path):  # noqa: F811
    target = tmp_path / "real" / "speech.wav"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(target)
    result = run(*say_args(voiced, link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target
    assert sf.info(target).frames > 3200
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []


def test_o_onto_a_full_device_is_one_line_and_the_device_stays(voiced):  # noqa: F811
    assert_one_line_error(as_text(run(*say_args(voiced, "/dev/full"))), "/dev/full", "No space left on device")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_o_onto_a_folder_is_one_line(voiced, tmp_path):  # noqa: F811
    assert_one_line_error(as_text(run(*say_args(voiced, tmp_path))), "is a folder")


def test_o_into_a_read_only_folder_is_one_line(voiced, tmp_path):  # noqa: F811
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        assert_one_line_error(as_text(run(*say_args(voiced, folder / "x.wav"))), "cannot write", "Read-only")


def test_a_full_disk_mid_file_keeps_the_old_file_and_leaves_nothing(voiced, tmp_path):  # noqa: F811
    out = tmp_path / "out.wav"
    out.write_bytes(b"the old file")
    text = "今天天气很好，我们一起去公园散步。" * 4
    result = as_text(run(*say_args(voiced, out, text), file_size_limit=20_000))
    assert_one_line_error(result, "cannot write", str(out), "File too large")
    assert out.read_bytes() == b"the old file"
    assert leftovers(tmp_path) == []


def test_o_writes_the_file_as_it_is_made(voiced, tmp_path):  # noqa: F811
    """Two lines on stdin: one WAV holding both, equal to the two written one by one."""
    both, one, two = tmp_path / "both.wav", tmp_path / "one.wav", tmp_path / "two.wav"
    args = ["say", "--pack", voiced, "--voice", "v", "--lang", "zh", "--seed", "1", "-o"]
    assert run(*args, both, stdin="你好。\n今天天气很好。\n".encode()).returncode == 0
    assert run(*args, one, stdin="你好。\n".encode()).returncode == 0
    assert run(*args, two, stdin="今天天气很好。\n".encode()).returncode == 0
    joined = np.concatenate([sf.read(one, dtype="int16")[0], sf.read(two, dtype="int16")[0]])
    assert np.array_equal(sf.read(both, dtype="int16")[0], joined)


# --- stdin ------------------------------------------------------------------------------------------------------


def test_binary_junk_on_stdin_is_named(voiced, tmp_path):  # noqa: F811
    junk = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    args = ["say", "--pack", voiced, "--voice", "v", "-o", tmp_path / "x.wav"]
    assert_one_line_error(as_text(run(*args, stdin=junk)), "not UTF-8")
    assert_one_line_error(as_text(run(*args, stdin=b"hello \x00\x01\x02 there\n")), "control character")
    assert not (tmp_path / "x.wav").exists()
    # phonemize reads stdin the same way (the fuzz suite found it ending in a UnicodeDecodeError traceback)
    assert_one_line_error(as_text(run("phonemize", "--lang", "zh", stdin=b"\xff\xfe\x00junk")), "not UTF-8")


def test_stdin_lines_of_only_punctuation_are_passed_over(voiced, tmp_path):  # noqa: F811
    args = ["say", "--pack", voiced, "--voice", "v", "--lang", "zh", "-o", tmp_path / "x.wav"]
    assert run(*args, stdin="。。。\n你好。\n".encode()).returncode == 0
    assert_one_line_error(as_text(run(*args, stdin="。。。\n\n!!\n".encode())), "no speakable text")


def test_say_speaks_each_stdin_line_as_it_arrives(voiced):  # noqa: F811
    """`my-llm | gsv-edge say`: the first line's audio is out before the second line is written."""
    args = ["say", "--pack", voiced, "--voice", "v", "--lang", "zh", "--seed", "1", "--output-raw"]
    process = subprocess.Popen([*CLI, *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO_ROOT)  # fmt: skip
    try:
        process.stdin.write("你好。\n".encode())
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "no audio within 120 s of the first line"
        first = os.read(process.stdout.fileno(), 1 << 16)
        assert len(first) > 0 and process.poll() is None  # audio out, still waiting for more text
        process.stdin.write("今天天气很好。\n".encode())
        process.stdin.close()
        rest = process.stdout.read()
        assert process.wait(timeout=120) == 0, process.stderr.read().decode()
        assert len(rest) > 0
    finally:
        process.kill()
        process.wait()


# --- voices -----------------------------------------------------------------------------------------------------


def test_voices_naming_a_file_is_one_line(voiced, tmp_path):  # noqa: F811
    afile = tmp_path / "notafolder"
    afile.write_text("x")
    assert_one_line_error(as_text(run("voice", "list", "--pack", voiced, "--voices", afile)), "--voices", "file")
    assert_one_line_error(as_text(run(*say_args(voiced, tmp_path / "x.wav"), "--voices", afile)), "--voices")


def test_voice_add_and_rm_on_a_read_only_pack_are_one_line(voiced, reference_clip, tmp_path):  # noqa: F811
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "v.npz").write_bytes((voiced / "voices" / "v.npz").read_bytes())
    add = ["voice", "add", "w", "--pack", voiced, "--voices", voices, "--ref", reference_clip, "--text", "你好"]
    with read_only(voices):
        assert_one_line_error(as_text(run(*add, "--lang", "zh")), "Read-only")
        assert_one_line_error(as_text(run("voice", "rm", "v", "--pack", voiced, "--voices", voices)), "Read-only")
        assert (voices / "v.npz").is_file()


def test_a_missing_reference_clip_is_named(voiced, tmp_path):  # noqa: F811
    add = ["voice", "add", "w", "--pack", voiced, "--ref", tmp_path / "nope.wav", "--text", "你好", "--lang", "zh"]
    assert_one_line_error(as_text(run(*add)), "nope.wav", "not found")


def test_two_enrollments_of_one_name_cannot_both_win(voiced, tmp_path):  # noqa: F811
    voice = load_voice(voiced / "voices", "v")
    voice.name = "same"
    start, outcomes = threading.Barrier(8), []

    def enroll() -> None:
        start.wait()
        try:
            save_voice(voice, tmp_path)
            outcomes.append("saved")
        except GsvEdgeError as err:
            outcomes.append("exists" if "already exists" in str(err) else str(err))

    threads = [threading.Thread(target=enroll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["exists"] * 7 + ["saved"]
    assert [p.name for p in tmp_path.iterdir()] == ["same.npz"]
    save_voice(voice, tmp_path, replace=True)  # --force replaces it
    assert load_voice(tmp_path, "same").text == voice.text


# --- convert ----------------------------------------------------------------------------------------------------


def test_convert_force_onto_a_file_is_refused_before_any_work(tmp_path):
    tiny = require_conformance("v2-tiny")
    afile = tmp_path / "pack"
    afile.write_text("mine")
    args = ["convert", "--gpt", tiny / "gpt.ckpt", "--sovits", tiny / "sovits.pth", "-o", afile, "--force"]
    result = as_text(run(*args))
    assert result.stderr.startswith("error: "), result.stderr  # no blank line before it
    assert_one_line_error(result, "is a file")
    assert afile.read_text() == "mine"


def test_a_full_disk_during_convert_is_one_line_and_leaves_nothing(tmp_path):
    tiny = require_conformance("v2-tiny")
    disk = tmp_path / "disk"
    disk.mkdir()
    with small_disk(disk) as limit:
        args = ["convert", "--gpt", tiny / "gpt.ckpt", "--sovits", tiny / "sovits.pth", "-o", disk / "pack"]
        result = as_text(run(*args, file_size_limit=limit))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        last = result.stderr.strip().splitlines()[-1]  # after the ✓ lines of the passes that finished
        assert last.startswith("error: ") and ("No space left" in last or "File too large" in last), last
        assert sorted(p.name for p in disk.iterdir()) == []


def test_convert_errors_start_with_the_error_line(tmp_path):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"junk")
    result = as_text(run("convert", "--gpt", junk, "--sovits", junk, "-o", tmp_path / "pack"))
    assert result.stderr.startswith("error: "), repr(result.stderr)
    assert_one_line_error(result, "junk.ckpt")


def test_sigterm_during_convert_removes_its_staging_and_a_dead_ones(tmp_path):
    tiny, hf = require_conformance("v2-tiny"), require_conformance("hf")
    dead = tmp_path / ".pack.partial-999999999"  # above any pid_max: no such process
    (dead / "sub").mkdir(parents=True)
    args = ["convert", "--gpt", tiny / "gpt.ckpt", "--sovits", tiny / "sovits.pth", "-o", tmp_path / "pack",
            "--hubert", hf / "chinese-hubert-base-tiny"]  # fmt: skip
    process = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=REPO_ROOT)  # fmt: skip
    own = tmp_path / f".pack.partial-{process.pid}"
    try:
        deadline = time.monotonic() + 180
        while not own.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert own.exists(), "the conversion never started its staging folder"
        assert not dead.exists(), "a dead conversion's staging folder is removed"
        time.sleep(0.5)  # inside a pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 143, process.stderr.read().decode()
    finally:
        process.kill()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_only_dead_conversions_lose_their_staging(tmp_path):
    from gsv_edge.convert.convert import remove_dead_staging

    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        names = (f".pack.partial-{sleeper.pid}", ".pack.partial-999999999", ".other.partial-999999999")
        alive, dead, other = (tmp_path / name for name in names)
        for folder in (alive, dead, other):
            folder.mkdir()
        assert remove_dead_staging(tmp_path / "pack") == [dead]
        assert alive.exists() and other.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("garbage", [b"", b"\xff\xfe junk"])
def test_say_with_no_text_at_all_is_one_line(voiced, tmp_path, garbage):  # noqa: F811
    args = ["say", "--pack", voiced, "--voice", "v", "-o", tmp_path / "x.wav"]
    assert_one_line_error(as_text(run(*args, stdin=garbage)))
    assert not (tmp_path / "x.wav").exists()
