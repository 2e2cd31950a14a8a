"""The ``gsv-edge`` command. Commands are thin: parse options, call the library, print.

Workstation commands (inspect, demo-model, bench-reference) import ``convert`` lazily, inside the command,
so the device-side commands never load torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from edge.errors import UserError

app = typer.Typer(
    name="gsv-edge",
    help="Run GPT-SoVITS voice cloning offline on small machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


voice_app = typer.Typer(help="Enroll, list, show and remove voices of a pack.", no_args_is_help=True)
app.add_typer(voice_app, name="voice")

PackOption = Annotated[Path, typer.Option("--pack", "-p", help="Pack folder made by 'gsv-edge convert'.")]
VoicesOption = Annotated[Path | None, typer.Option("--voices", help="Voice folder (default: PACK/voices).")]
BackendOption = Annotated[str | None, typer.Option("--backend", help="openvino or onnxruntime (default: profile).")]


def _voices_dir(pack: Path, voices: Path | None) -> Path:
    return voices or pack / "voices"


@voice_app.command("add")
def voice_add(
    name: Annotated[str, typer.Argument(help="Name for the voice (letters, digits, . _ -).")],
    pack: PackOption,
    ref: Annotated[Path, typer.Option("--ref", help="Reference clip, 3-10 s (WAV, FLAC, OGG).")],
    text: Annotated[str, typer.Option("--text", help="What is said in the clip.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the transcript: zh, en, ja, auto.")] = "auto",
    voices: VoicesOption = None,
    backend: BackendOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing voice of that name.")] = False,
) -> None:
    """Enroll a voice from a reference clip and its transcript. The audio itself is not stored."""
    from runtime.synthesizer import Synthesizer
    from runtime.voices import check_name, save_voice

    check_name(name)
    folder = _voices_dir(pack, voices)
    if (folder / f"{name}.npz").exists() and not force:
        raise UserError(f"voice {name!r} already exists in {folder}; pass --force to replace it")
    synth = Synthesizer.load(pack, backend=backend, voices_dir=folder)
    voice = synth.enroll(name, ref, text, lang)
    path = save_voice(voice, folder)
    typer.echo(f"enrolled {name}: {len(voice.prompt_tokens)} prompt tokens, {len(voice.phone_ids)} phones -> {path}")


@voice_app.command("list")
def voice_list(pack: PackOption, voices: VoicesOption = None) -> None:
    """List the voices enrolled for a pack."""
    from runtime.voices import list_voices

    entries = list_voices(_voices_dir(pack, voices))
    if not entries:
        typer.echo("no voices yet; add one with: gsv-edge voice add NAME --pack PACK --ref clip.wav --text '...'")
    for entry in entries:
        typer.echo(f"{entry['name']:20s} {entry['language']:6s} {entry['seconds']:5.1f} s  {entry['text']}")


@voice_app.command("show")
def voice_show(name: str, pack: PackOption, voices: VoicesOption = None) -> None:
    """Print a voice's metadata as JSON."""
    from runtime.pack import read_manifest
    from runtime.voices import load_voice

    voice = load_voice(_voices_dir(pack, voices), name, read_manifest(pack, verify=False).fingerprint)
    typer.echo(json.dumps(voice.metadata(), ensure_ascii=False, indent=2))


@voice_app.command("rm")
def voice_rm(name: str, pack: PackOption, voices: VoicesOption = None) -> None:
    """Remove a voice."""
    from runtime.voices import remove_voice

    remove_voice(_voices_dir(pack, voices), name)
    typer.echo(f"removed {name}")


@app.command()
def say(
    text: Annotated[str | None, typer.Argument(help="Text to speak; read from stdin (one utterance per line).")] = None,
    pack: PackOption = Path("."),
    voice: Annotated[str, typer.Option("--voice", "-v", help="Voice name (see 'gsv-edge voice list').")] = "",
    lang: Annotated[str, typer.Option("--lang", help="auto, zh, all_zh, en, ja or all_ja.")] = "auto",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write a WAV file instead of playing.")] = None,
    output_raw: Annotated[bool, typer.Option("--output-raw", help="Write 16-bit PCM to stdout.")] = False,
    seed: Annotated[int | None, typer.Option(help="Fix all randomness for reproducible output.")] = None,
    speed: Annotated[float, typer.Option(help="Speaking rate; above 1 is faster.")] = 1.0,
    top_k: Annotated[int | None, typer.Option(help="Sampling top-k (default: the model's).")] = None,
    top_p: Annotated[float, typer.Option(help="Sampling top-p (1 = off).")] = 1.0,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    voices: VoicesOption = None,
    backend: BackendOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Say which backend runs and why.")] = False,
) -> None:
    """Speak text in an enrolled voice: to the sound card, a WAV file (-o) or raw PCM on stdout."""
    from runtime.audio_out import play, write_raw, write_wav
    from runtime.synthesizer import SpeechOptions, Synthesizer
    from runtime.vocoder import SAMPLE_RATE

    if not voice:
        raise UserError("no voice given; pass --voice NAME (see 'gsv-edge voice list --pack PACK')")
    if not 0.25 <= speed <= 4:
        raise UserError(f"--speed {speed} is out of range; use 0.25 to 4")
    synth = Synthesizer.load(pack, backend=backend, voices_dir=_voices_dir(pack, voices))
    if verbose:
        typer.echo(
            f"backend: {synth.backend.name} ({synth.backend.reason}), precision {synth.backend.precision}", err=True
        )
        for label, chosen in (("GPT", synth.t2s_backend), ("SoVITS encoder", synth.encoder_backend)):
            if chosen is not synth.backend:
                typer.echo(f"{label} backend: {chosen.name} ({chosen.reason})", err=True)
    speaker = synth.voice(voice)
    options = SpeechOptions(top_k=top_k, top_p=top_p, temperature=temperature, speed=speed, seed=seed)
    lines = [text] if text is not None else [line for line in sys.stdin.read().splitlines() if line.strip()]
    if output_raw:
        for line in lines:
            for chunk in synth.stream(line, speaker, lang, options):
                write_raw(chunk)  # each chunk as soon as it is made
        return
    if output is None:
        chunks = (chunk for line in lines for chunk in synth.stream(line, speaker, lang, options))
        underruns = play(chunks, SAMPLE_RATE)
        if verbose:
            typer.echo(f"played; underruns: {underruns}", err=True)
        return
    audio = np.concatenate([synth.synthesize(line, speaker, lang, options) for line in lines] or [np.zeros(0)])
    write_wav(output, audio, SAMPLE_RATE)
    typer.echo(f"wrote {output} ({len(audio) / SAMPLE_RATE:.2f} s)", err=True)


@app.command()
def doctor(
    pack: Annotated[Path | None, typer.Option("--pack", "-p", help="Also check this pack on this machine.")] = None,
    backend: BackendOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """What this machine offers: backends and their devices, CPU precisions, sound output; with --pack, which
    backend and graphs the pack would run with here, and why."""
    from edge.doctor import diagnose

    report = diagnose(pack, backend)
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_text())


@app.command()
def bench(
    pack: PackOption,
    backend: Annotated[
        str, typer.Option(help="profile (as the pack's profile runs it), openvino, onnxruntime, or all.")
    ] = "all",
    text: Annotated[str | None, typer.Option(help="Text to speak (default: a 20-word English sentence).")] = None,
    repeats: Annotated[int, typer.Option(help="Timed repetitions after one warm-up; medians are reported.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per setup.")] = False,
) -> None:
    """Measure a pack on this machine: prefill, ms per token, vocoder RTF, first audio, RTF, peak RSS."""
    from runtime.bench import DEFAULT_TEXT
    from runtime.bench import bench as run_bench
    from runtime.pack import read_manifest

    read_manifest(pack)
    setups = ("profile", "openvino", "onnxruntime")
    if backend not in (*setups, "all"):
        raise UserError(f"unknown --backend {backend!r}; choose profile, openvino, onnxruntime or all")
    results = run_bench(pack, list(setups) if backend == "all" else [backend], text or DEFAULT_TEXT, repeats)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
        return
    columns = ("prefill_ms", "ms_per_token", "vocoder_rtf", "first_audio_ms", "rtf", "peak_rss_mb")
    graphs = ("GPT", "SoVITS enc", "SoVITS dec")
    typer.echo(f"{'setup':12s} " + " ".join(f"{g:17s}" for g in graphs) + " ".join(f"{c:>14s}" for c in columns))
    for r in results:
        if "error" in r:
            typer.echo(f"{r['setup']:12s} error: {r['error']}")
            continue
        used = (
            f"{r['t2s_backend']} {r['t2s_precision']}",
            f"{r['encoder_backend']} {r['encoder_precision']}",
            f"{r['backend']} {r['sovits_precision']}",
        )
        numbers = " ".join(f"{r[c]:14.3f}" for c in columns)
        typer.echo(f"{r['setup']:12s} " + " ".join(f"{u:17s}" for u in used) + numbers)


@app.command()
def inspect(
    files: Annotated[list[Path], typer.Argument(help="GPT .ckpt and/or SoVITS .pth files.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Show version, sizes, parameter count and key coverage of GPT-SoVITS checkpoints, and whether a
    GPT and a SoVITS file belong together. Never runs code from the files."""
    from convert.inspect import inspect_files

    report = inspect_files(files)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(report.to_text())
    if not report.ok:
        raise typer.Exit(2)


@app.command("demo-model")
def demo_model(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write gpt.ckpt and sovits.pth into.")],
    version: Annotated[str, typer.Option(help="v1, v2, v2Pro or v2ProPlus.")] = "v2",
    size: Annotated[str, typer.Option(help="'full' (official sizes) or 'tiny' (for tests).")] = "full",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same weights.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
    voice_assets: Annotated[
        bool, typer.Option("--voice-assets", help="Also write a small random HuBERT and a reference clip.")
    ] = False,
) -> None:
    """Write a seeded random GPT-SoVITS model in the official file formats (random weights: it shows the
    pipeline and its speed, not a voice)."""
    from convert.demo_model import write_demo_model

    written = write_demo_model(output, version=version, size=size, seed=seed, force=force, voice_assets=voice_assets)
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def phonemize(
    text: Annotated[str | None, typer.Argument(help="Text to convert; read from stdin when omitted.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="auto, zh, all_zh, en, ja or all_ja.")] = "auto",
    version: Annotated[str, typer.Option("--version", help="Symbol table: v1 or v2.")] = "v2",
    no_split: Annotated[
        bool,
        typer.Option("--no-split", help="No segmentation or language split: one language's cleaner on the text."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    g2pw: Annotated[
        Path | None, typer.Option("--g2pw", help="v2 zh: read polyphones with g2pW from upstream's G2PWModel folder.")
    ] = None,
    bert_tokenizer: Annotated[
        Path | None,
        typer.Option(help="With --g2pw: chinese-roberta's tokenizer.json (default: the one in the --g2pw folder)."),
    ] = None,
    g2pw_dict: Annotated[
        list[Path] | None,
        typer.Option("--g2pw-dict", help="With --g2pw: upstream's polyphonic.rep / polyphonic-fix.rep, in order."),
    ] = None,
) -> None:
    """Show the segments, phones and phone ids the model will get for TEXT (for debugging a voice)."""
    from runtime.text import TextError, clean_text
    from runtime.text import phonemize as run_phonemize

    if version not in ("v1", "v2"):
        raise UserError(f"unknown --version {version!r}; choose v1 or v2")
    if g2pw is None and (bert_tokenizer is not None or g2pw_dict):
        raise UserError("--bert-tokenizer and --g2pw-dict only apply with --g2pw DIR; add it or drop them")
    if text is None:
        text = sys.stdin.read()
    try:
        reader = _g2pw_reader(g2pw, bert_tokenizer, g2pw_dict)
        if no_split:
            cleaned = clean_text(text, lang, version, reader)
            segments = [
                {"text": text, "language": lang, "phones": cleaned.phones, "phone_ids": cleaned.phone_ids,
                 "word2ph": cleaned.word2ph, "norm_text": cleaned.norm_text}
            ]  # fmt: skip
        else:
            segments = [
                {"text": seg.text, "language": seg.language, "phones": seg.phones, "phone_ids": seg.phone_ids,
                 "word2ph": seg.word2ph, "norm_text": seg.norm_text}
                for seg in run_phonemize(text, language=lang, version=version, g2pw=reader)
            ]  # fmt: skip
    except TextError as err:
        raise UserError(str(err)) from None
    if as_json:
        typer.echo(json.dumps({"segments": segments}, ensure_ascii=False))
        return
    for number, seg in enumerate(segments, 1):
        typer.echo(f"[{number}] {seg['language']}: {seg['text']}")
        typer.echo(f"    phones  {' '.join(seg['phones'])}")
        typer.echo(f"    ids     {' '.join(map(str, seg['phone_ids']))}")
        if seg["word2ph"] is not None:
            typer.echo(f"    word2ph {' '.join(map(str, seg['word2ph']))}")


def _g2pw_reader(folder: Path | None, tokenizer: Path | None, dictionaries: list[Path] | None):
    """The g2pW reader of --g2pw (None without it); a missing file is a TextError naming it."""
    if folder is None:
        return None
    from runtime.text.zh_g2pw import G2PW

    return G2PW(folder, tokenizer, dictionaries or None)


@app.command("bench-text")
def bench_text(
    lang: Annotated[list[str] | None, typer.Option("--lang", help="Modes to time (default zh, en, ja, auto).")] = None,
    calls: Annotated[int, typer.Option(help="Random inputs per mode.")] = 2000,
    max_chars: Annotated[int, typer.Option(help="Longest input, in characters.")] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per mode.")] = False,
) -> None:
    """Time the text front end per call on seeded random and ordinary inputs: median, p99 and max ms."""
    from runtime.text.bench import MODES, measure

    modes = lang or list(MODES)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise UserError(f"unknown --lang {unknown[0]!r}; choose from {', '.join(MODES)}")
    if calls < 1 or max_chars < 0:
        raise UserError("--calls must be at least 1 and --max-chars at least 0")
    results = [measure(mode, calls, max_chars) for mode in modes]
    if as_json:
        typer.echo(json.dumps(results, indent=2))
        return
    typer.echo(f"{'mode':6s} {'calls':>7s} {'median ms':>10s} {'p99 ms':>9s} {'max ms':>9s} {'text errors':>12s}")
    for r in results:
        typer.echo(f"{r['mode']:6s} {r['calls']:7d} {r['median_ms']:10.3f} {r['p99_ms']:9.3f} {r['max_ms']:9.3f} "
                   f"{r['text_errors']:12d}")  # fmt: skip


@app.command()
def convert(
    gpt: Annotated[Path, typer.Option("--gpt", help="GPT checkpoint (.ckpt) from GPT_weights*/.")],
    sovits: Annotated[Path, typer.Option("--sovits", help="SoVITS checkpoint (.pth) from SoVITS_weights*/.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Pack folder to write, e.g. packs/myvoice-rpi5.")],
    profile: Annotated[
        str, typer.Option(help="Device profile: rpi4, rpi5, nuc, laptop, or a path to your own .toml.")
    ] = "laptop",
    weight_format: Annotated[
        str | None, typer.Option("--weight-format", help="Override the GPT weights: int8, int4, fp16 or fp32.")
    ] = None,
    sovits_format: Annotated[
        str | None,
        typer.Option(
            "--sovits-format",
            help="Override the SoVITS weights: fp16, int8 or fp32 (fp32 keeps the ONNX encoder fp32 too).",
        ),
    ] = None,
    hubert: Annotated[
        Path | None, typer.Option(help="chinese-hubert-base folder: adds the graph that enrolls voices on the device.")
    ] = None,
    bert: Annotated[
        Path | None, typer.Option(help="chinese-roberta-wwm-ext-large folder: adds the zh BERT graph.")
    ] = None,
    sv: Annotated[
        Path | None,
        typer.Option(help="v2Pro/v2ProPlus: upstream's pretrained_eres2netv2w24s4ep4.ckpt, to enroll voices."),
    ] = None,
    g2pw: Annotated[
        Path | None, typer.Option("--g2pw", help="v2: upstream's G2PWModel folder, for Chinese polyphones.")
    ] = None,
    g2pw_dict: Annotated[
        list[Path] | None,
        typer.Option("--g2pw-dict", help="With --g2pw: upstream's polyphonic.rep / polyphonic-fix.rep, in order."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
) -> None:
    """Convert a GPT-SoVITS model into a pack for a device: OpenVINO IR (+ ONNX for the ONNX Runtime
    fallback), quantized per the profile, checked against the torch reference, with a report."""
    import time

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from convert.convert import ConvertOptions
    from convert.convert import convert as run_convert

    if g2pw is None and g2pw_dict:
        raise UserError("--g2pw-dict only applies with --g2pw DIR; add it or drop --g2pw-dict")
    options = ConvertOptions(
        gpt, sovits, output, profile, weight_format, sovits_format, hubert, bert, force, sv=sv, g2pw=g2pw,
        g2pw_dicts=g2pw_dict,
    )  # fmt: skip
    console = Console(stderr=True)
    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        written, report = run_convert(options, progress=lambda step: bar.update(task, description=step))
    table = Table(title="accuracy (report.json)")
    for column in ("graph", "backend", "precision", "against", "metrics", ""):
        table.add_column(column)
    for row in report.rows():
        table.add_row(*row)
    Console().print(table)
    size = sum(p.stat().st_size for p in written.rglob("*") if p.is_file()) / 1e6
    typer.echo(f"wrote {written} ({size:.0f} MB) in {time.perf_counter() - started:.0f} s")


@app.command("bench-t2s")
def bench_t2s(
    gpt: Annotated[Path, typer.Argument(help="GPT .ckpt to benchmark (e.g. demo/model/gpt.ckpt).")],
    formats: Annotated[str, typer.Option(help="Compressed weight formats to time, comma-separated.")] = "int8,int4",
    steps: Annotated[int, typer.Option(help="Decode steps per repetition.")] = 100,
    prefill: Annotated[int, typer.Option(help="Prefill rows (phones + prompt tokens).")] = 150,
    repeats: Annotated[int, typer.Option(help="Repetitions; medians are reported.")] = 3,
    threads: Annotated[int, typer.Option(help="CPU threads (0: OpenVINO's default).")] = 0,
) -> None:
    """Time the exported t2s graph: stateless fp32 vs stateful fp32 vs stateful compressed, interleaved."""
    from convert.bench import bench_t2s as run_bench
    from convert.checkpoint import load_gpt

    ckpt = load_gpt(gpt)
    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    results = run_bench(ckpt, wanted, prefill, steps, repeats, threads, log=lambda m: typer.echo(m, err=True))
    baseline = results[0].ms_per_token
    header = f"{'variant':18s} {'prefill ms':>10s} {'ms/token':>9s} {'vs stateless':>12s} {'IR MB':>7s} {'prep s':>7s}"
    typer.echo(header)
    for r in results:
        typer.echo(
            f"{r.name:18s} {r.prefill_ms:10.1f} {r.ms_per_token:9.2f} {baseline / r.ms_per_token:11.2f}x "
            f"{r.ir_mb:7.1f} {r.convert_s:7.1f}"
        )


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit code 2, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as err:  # click's own usage errors
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(2)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
