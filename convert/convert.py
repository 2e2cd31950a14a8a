"""`gsv-edge convert`: checkpoints → a pack folder, as a pipeline of named passes.

    load + check pair → t2s → sovits → voice (ref_enc, hubert) → sv → bert → g2pw → text → manifest, report,
    model card
    → rename into place

Each pass is one module of ``convert.passes`` (export a graph, verify fp32 against the torch reference, save the
shipped precision, measure it against fp32); ``PASSES`` lists them in order. Everything is written into a hidden
staging folder beside the target and renamed at the very end, so an interrupted or failed conversion leaves
nothing half written: a failure, Ctrl-C or SIGTERM removes the staging folder, and the next conversion to the same
place removes those of processes that were killed outright (``kill -9``, a power cut). What the libraries
underneath print while the passes run goes to ``convert.log`` in the pack (see ``gsv_edge.convert.log``).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NamedTuple, TextIO

from gsv_edge.convert.checkpoint import GptCheckpoint, SovitsCheckpoint, load_gpt, load_sovits
from gsv_edge.convert.log import captured
from gsv_edge.convert.passes import bert, g2pw, sovits, sv, t2s, text_data, voice
from gsv_edge.convert.reference.eres2net import SvCheckpoint
from gsv_edge.convert.report import Report
from gsv_edge.convert.versions import check_pair
from gsv_edge.runtime.cache import write_problem
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import GraphFile, Manifest, file_sha256
from gsv_edge.runtime.profile import SOVITS_FORMATS, T2S_FORMATS, Profile, load_profile

# The libraries' warnings, log records and prints during the passes: kept in the pack, hashed like every file.
LOG_FILE = "convert.log"


class ConversionFailed(GsvEdgeError):
    """The exported graphs do not compute what the reference computes; nothing was written."""


@dataclass
class ConvertOptions:
    """What to convert, for which device, into which folder."""

    gpt: Path
    sovits: Path
    output: Path
    profile: str = "laptop"
    t2s_format: str | None = None  # forces this GPT format, instead of the profile's list and its quality gate
    sovits_format: str | None = None  # forces this SoVITS format, instead of the profile's list and its gate
    hubert: Path | None = None
    bert: Path | None = None
    force: bool = False
    sv: Path | None = None  # upstream's ERes2NetV2 checkpoint (v2Pro/v2ProPlus voices)
    g2pw: Path | None = None  # upstream's G2PWModel folder (v2 zh polyphones)
    g2pw_dicts: list[Path] | None = None  # upstream's polyphonic.rep files (default: those in the g2pw folder)


@dataclass
class Context:
    """State shared by the passes of one conversion."""

    options: ConvertOptions
    profile: Profile
    gpt: GptCheckpoint
    sovits: SovitsCheckpoint
    staging: Path
    report: Report = field(default_factory=Report)
    graphs: list[GraphFile] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)
    text_data: dict[str, dict[str, str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    sv: SvCheckpoint | None = None

    @property
    def t2s_formats(self) -> tuple[str, ...]:
        """The GPT formats to try, in order of preference: ``--weight-format`` alone, or the profile's list."""
        return (self.options.t2s_format,) if self.t2s_forced else self.profile.convert.t2s_weight_format

    @property
    def t2s_forced(self) -> bool:
        return self.options.t2s_format is not None

    @property
    def sovits_formats(self) -> tuple[str, ...]:
        """The SoVITS IR formats to try: ``--sovits-format`` alone, or the profile's list."""
        return (self.options.sovits_format,) if self.sovits_forced else self.profile.convert.sovits_weight_format

    @property
    def sovits_forced(self) -> bool:
        return self.options.sovits_format is not None

    @property
    def sovits_enc_onnx_format(self) -> str:
        """The ONNX encoder's weights; ``--sovits-format fp32`` keeps them fp32 too (an all-fp32 pack)."""
        if self.options.sovits_format == "fp32":
            return "fp32"
        return self.profile.convert.sovits_enc_onnx_format

    @property
    def precision_hint(self) -> dict[str, str]:
        """OpenVINO compile config for measuring shipped precisions the way the device will run them."""
        hint = self.profile.settings.runtime.inference_precision
        return {} if hint == "auto" else {"INFERENCE_PRECISION_HINT": hint}


class Pass(NamedTuple):
    """One step of the pipeline."""

    name: str
    """Shown while it runs and used as its key in report.json's timings."""
    run: Callable[[Context], None]
    """Writes its files into ``ctx.staging`` and its checks into ``ctx.report``."""
    wanted: Callable[[Context], bool] | None = None
    """Whether this conversion needs it (None: always), e.g. only with ``--bert``."""


PASSES: list[Pass] = [
    Pass("t2s", t2s.run),
    Pass("sovits", sovits.run),
    Pass("voice", voice.run),
    Pass("sv", sv.run, sv.wanted),
    Pass("bert", bert.run, bert.wanted),
    Pass("g2pw", g2pw.run, g2pw.wanted),
    Pass("text", text_data.run),
]

Progress = Callable[[str, float | None], None]
"""Told (step, None) when a step starts and (step, seconds) when it is done; steps are "checkpoints", each pass
that runs, then "pack files"."""


def convert(
    options: ConvertOptions, progress: Progress | None = None, echo: TextIO | None = None
) -> tuple[Path, Report]:
    """Run the whole conversion. Raises GsvEdgeError (bad input) or ConversionFailed (export mismatch).

    What the libraries print while the passes run goes to the pack's ``convert.log``, and also to ``echo`` when
    given (the CLI's ``--verbose`` passes stderr). ``progress`` is called with the caller's own stdout/stderr."""
    say = progress or (lambda _step, _seconds: None)
    profile = load_profile(options.profile)
    if options.t2s_format is not None and options.t2s_format not in T2S_FORMATS:
        raise GsvEdgeError(f"unknown --weight-format {options.t2s_format!r}; choose one of {', '.join(T2S_FORMATS)}")
    if options.sovits_format is not None and options.sovits_format not in SOVITS_FORMATS:
        raise GsvEdgeError(
            f"unknown --sovits-format {options.sovits_format!r}; choose one of {', '.join(SOVITS_FORMATS)}"
        )
    output = Path(options.output)
    if output.exists() and not output.is_dir():
        raise GsvEdgeError(f"-o {output} is a file; a pack is a folder: choose another -o", option="output")
    if output.exists() and not options.force:
        raise GsvEdgeError(f"{output} already exists; pass --force to replace it or choose another -o folder")
    with _step("checkpoints", say):  # done once every input is read and fits: a refusal is the only line
        gpt, sovits_ckpt = load_gpt(options.gpt), load_sovits(options.sovits)
        check_pair(gpt, sovits_ckpt)
        for folder, what in ((options.hubert, "--hubert"), (options.bert, "--bert")):
            if folder is not None and not Path(folder).is_dir():
                raise GsvEdgeError(f"{what} {folder}: not a folder; pass the Hugging Face model folder")
        sv_ckpt = sv.load(options.sv, sovits_ckpt) if options.sv is not None else None
        if options.g2pw is not None:
            g2pw.source_of(options, sovits_ckpt)  # a bad folder fails before minutes of export
        text_data.english_sources()  # so does a workstation without the English data files

    output.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(output)
    staging = output.with_name(f"{STAGING_PREFIX.format(name=output.name)}{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    ctx = Context(options, profile, gpt, sovits_ckpt, staging, sv=sv_ckpt)
    previous_handler = _sigterm_raises()
    try:
        with captured(staging / LOG_FILE, echo) as log:

            def told(step: str, seconds: float | None) -> None:
                with log.uncaptured():
                    say(step, seconds)

            for step in (Pass(*entry) for entry in PASSES):
                if step.wanted is None or step.wanted(ctx):
                    with _step(step.name, told) as timing:
                        step.run(ctx)
                    ctx.timings[step.name] = timing.seconds
        if not ctx.report.ok:
            failed = [f"{c.graph}/{c.backend}/{c.precision}" for c in ctx.report.checks if not c.passed]
            raise ConversionFailed(
                f"the exported graphs do not match the reference ({', '.join(failed)}); nothing was written. "
                "Please report this with the output of 'gsv-edge inspect' on your files"
            )
        with _step("pack files", say):
            _write_pack_files(ctx)
        if output.exists():
            shutil.rmtree(output)
        os.replace(staging, output)
    except (OSError, RuntimeError) as err:
        # A full disk reaches us as OSError from our own writes, but as a bare RuntimeError ("iostream error")
        # from OpenVINO's and torch's: say what the disk says, or let a genuine failure through.
        problem = write_problem(output.parent)
        if problem is None:
            raise
        raise GsvEdgeError(f"cannot write the pack beside {output} ({problem}); nothing was written") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    return output, ctx.report


STAGING_PREFIX = ".{name}.partial-"
"""A conversion's staging folder is ``.NAME.partial-PID`` beside the pack folder NAME."""


def remove_dead_staging(output: Path) -> list[Path]:
    """Remove the staging folders beside ``output`` whose process no longer runs (killed outright, so its own
    cleanup never ran); a folder whose process is alive is another conversion at work and is left alone. A PID
    reused by an unrelated process keeps its folder: on the safe side, never a live conversion's."""
    removed = []
    prefix = STAGING_PREFIX.format(name=output.name)
    for folder in output.parent.glob(f"{glob.escape(prefix)}*"):
        pid = folder.name[len(prefix) :]
        if not pid.isdigit() or int(pid) == os.getpid() or _process_alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


class Terminated(KeyboardInterrupt):
    """SIGTERM during a conversion: raised like Ctrl-C, so the staging folder is removed on the way out."""


def _sigterm_raises():
    """Make SIGTERM raise ``Terminated`` while a conversion runs (main thread only: Python delivers signals
    there); returns the previous handler to put back, or None when it could not be set."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminated(signum, _frame):
        raise Terminated()

    return signal.signal(signal.SIGTERM, terminated)


@dataclass
class _Timing:
    seconds: float = 0.0


@contextlib.contextmanager
def _step(name: str, say: Progress) -> Iterator[_Timing]:
    """Tell ``say`` that ``name`` starts, time it, tell it the seconds once it is done (not when it fails)."""
    timing = _Timing()
    say(name, None)
    start = time.perf_counter()
    yield timing
    timing.seconds = round(time.perf_counter() - start, 2)
    say(name, timing.seconds)


# --- pack files ---------------------------------------------------------------------------------------------


def _converter_version() -> str:
    try:
        return version("gsv-edge")
    except PackageNotFoundError:
        return "unknown"


def _write_pack_files(ctx: Context) -> None:
    gpt, sovits_ckpt = ctx.gpt, ctx.sovits
    sources = {
        "gpt": {"name": gpt.path.name, "sha256": gpt.sha256},
        "sovits": {"name": sovits_ckpt.path.name, "sha256": sovits_ckpt.sha256},
    }
    if ctx.sv is not None:
        sources["sv"] = {"name": ctx.sv.path.name, "sha256": ctx.sv.sha256}
    (ctx.staging / "report.json").write_text(
        json.dumps({**ctx.report.to_dict(), "timings_s": ctx.timings}, indent=2) + "\n", encoding="utf-8"
    )
    (ctx.staging / "MODEL_CARD.md").write_text(_model_card(ctx), encoding="utf-8")
    files = [f for g in ctx.graphs for f in g.files] + list(ctx.tables.values())
    files += [entry["path"] for entry in ctx.text_data.values()]
    files += ["report.json", "MODEL_CARD.md", LOG_FILE]
    # a table may be a folder (g2pw/): each of its files is hashed
    files = [
        f"{name}/{child.name}" if (ctx.staging / name).is_dir() else name
        for name in files
        for child in (sorted((ctx.staging / name).iterdir()) if (ctx.staging / name).is_dir() else [None])
    ]
    model = gpt.model_config
    manifest = Manifest(
        model_version=sovits_ckpt.version,
        symbols=sovits_ckpt.symbol_version,
        sample_rate=int(sovits_ckpt.config.get("data", {}).get("sampling_rate", 32000)),
        gpt={
            "d_model": int(model["embedding_dim"]),
            "heads": int(model["head"]),
            "n_layer": int(model["n_layer"]),
            "vocab": int(model["vocab_size"]),
            "eos": int(model.get("EOS", 1024)),
            "top_k": gpt.top_k,
        },
        graphs=ctx.graphs,
        tables=ctx.tables,
        text_data=ctx.text_data,
        sources=sources,
        profile=ctx.profile.name,
        settings=ctx.profile.settings,
        converter={"name": "gsv-edge", "version": _converter_version()},
        sha256={name: file_sha256(ctx.staging / name) for name in files},
    )
    (ctx.staging / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")


def _model_card(ctx: Context) -> str:
    lines = [
        f"# {ctx.options.output.name}",
        "",
        f"GPT-SoVITS {ctx.sovits.version} model converted by gsv-edge for the `{ctx.profile.name}` profile "
        f"({ctx.profile.description}).",
        "",
        f"- GPT: `{ctx.gpt.path.name}` (sha256 {ctx.gpt.sha256[:16]}…)",
        f"- SoVITS: `{ctx.sovits.path.name}` (sha256 {ctx.sovits.sha256[:16]}…)",
        *([f"- Speaker verification: `{ctx.sv.path.name}` (sha256 {ctx.sv.sha256[:16]}…)"] if ctx.sv else []),
        f"- Phone table: {ctx.sovits.symbol_version}; output: 32 kHz mono",
        *(["- Chinese polyphones: g2pW (INT8 copy in g2pw/)"] if "g2pw" in ctx.tables else []),
        "",
        "| graph | backend | precision | files |",
        "|---|---|---|---|",
    ]
    lines += [f"| {g.name} | {g.backend} | {g.precision} | {', '.join(g.files)} |" for g in ctx.graphs]
    lines += _gate_lines(ctx)
    lines += ["", "Accuracy: see report.json (exported graphs vs the torch reference, precisions vs fp32).", ""]
    lines += [f"Note: {note}" for note in ctx.report.notes] + ([""] if ctx.report.notes else [])
    return "\n".join(lines)


def _gate_lines(ctx: Context) -> list[str]:
    """The quality gate's choices: every candidate's figures against fp32, and which was kept."""
    if not ctx.report.choices:
        return []
    lines = ["", "Formats chosen by the quality gate (the first of the profile's list that stays close to fp32 on "
             "these weights; see report.json `choices`):", "",
             "| graph | backend | gate | candidates (vs fp32) | kept |", "|---|---|---|---|---|"]  # fmt: skip
    for choice in ctx.report.choices:
        judged = [gate.split()[0] for gate in choice.gate]  # the metric each threshold reads
        tried = "; ".join(
            f"{c.format}: {' '.join(f'{m} {c.metrics[m]:.4f}' for m in judged)} {'✓' if c.passed else '✗'}"
            for c in choice.candidates
        )
        kept = choice.chosen + (" (forced)" if choice.forced else "")
        lines.append(f"| {choice.graph} | {choice.backend} | {', '.join(choice.gate)} | {tried} | {kept} |")
    return lines
