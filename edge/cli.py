"""The ``gsv-edge`` command. Commands are thin: parse options, call the library, print.

Workstation commands (inspect, demo-model, bench-reference) import ``convert`` lazily, inside the command,
so the device-side commands never load torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from edge.errors import UserError

app = typer.Typer(
    name="gsv-edge",
    help="Run GPT-SoVITS voice cloning offline on small machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
) -> None:
    """Write a seeded random GPT-SoVITS model in the official file formats (random weights: it shows the
    pipeline and its speed, not a voice)."""
    from convert.demo_model import write_demo_model

    written = write_demo_model(output, version=version, size=size, seed=seed, force=force)
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
) -> None:
    """Show the segments, phones and phone ids the model will get for TEXT (for debugging a voice)."""
    from runtime.text import TextError, clean_text
    from runtime.text import phonemize as run_phonemize

    if version not in ("v1", "v2"):
        raise UserError(f"unknown --version {version!r}; choose v1 or v2")
    if text is None:
        text = sys.stdin.read()
    try:
        if no_split:
            cleaned = clean_text(text, lang, version)
            segments = [
                {"text": text, "language": lang, "phones": cleaned.phones, "phone_ids": cleaned.phone_ids,
                 "word2ph": cleaned.word2ph, "norm_text": cleaned.norm_text}
            ]  # fmt: skip
        else:
            segments = [
                {"text": seg.text, "language": seg.language, "phones": seg.phones, "phone_ids": seg.phone_ids,
                 "word2ph": seg.word2ph, "norm_text": seg.norm_text}
                for seg in run_phonemize(text, language=lang, version=version)
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
        str | None, typer.Option("--sovits-format", help="Override the SoVITS weights: fp16, int8 or fp32.")
    ] = None,
    hubert: Annotated[
        Path | None, typer.Option(help="chinese-hubert-base folder: adds the graph that enrolls voices on the device.")
    ] = None,
    bert: Annotated[
        Path | None, typer.Option(help="chinese-roberta-wwm-ext-large folder: adds the zh BERT graph.")
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

    options = ConvertOptions(gpt, sovits, output, profile, weight_format, sovits_format, hubert, bert, force)
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
    size = sum(p.stat().st_size for p in written.iterdir()) / 1e6
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
