"""The ``gsv-edge`` command. Commands are thin: parse options, call the library, print.

Workstation commands (inspect, convert, demo-model, bench-t2s) import ``gsv_edge.convert`` inside the command, so
the device-side commands never load torch. Every failure a user can fix ends in ``main()``: one line on stderr,
exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gsv_edge.runtime.errors import GsvEdgeError

# The order of the workflow, then the tools (click would sort them by name).
COMMAND_ORDER = ("inspect", "convert", "voice", "say", "serve", "bench", "doctor", "phonemize", "demo-model",
                 "bench-text", "bench-t2s")  # fmt: skip


class _WorkflowOrder(typer.core.TyperGroup):
    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: COMMAND_ORDER.index(n) if n in COMMAND_ORDER else len(COMMAND_ORDER))


app = typer.Typer(
    name="gsv-edge",
    help="Run GPT-SoVITS voice cloning offline on small machines.",
    cls=_WorkflowOrder,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


voice_app = typer.Typer(help="Enroll, list, show and remove voices of a pack.", no_args_is_help=True)
app.add_typer(voice_app, name="voice")

PackOption = Annotated[Path, typer.Option("--pack", "-p", help="Pack folder made by 'gsv-edge convert'.")]
VoicesOption = Annotated[Path | None, typer.Option("--voices", help="Voice folder (default: PACK/voices).")]
BackendOption = Annotated[
    str | None,
    typer.Option("--backend", help="Run every graph on openvino or onnxruntime (default: the pack's settings)."),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", help="Run with this profile's settings instead of the pack's own: a name or a .toml path."
    ),
]


def _voices_dir(pack: Path, voices: Path | None) -> Path:
    if voices is not None and voices.exists() and not voices.is_dir():
        raise GsvEdgeError(f"--voices names a file ({voices}), not a folder; give the folder that holds the voices")
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
    """Enroll a voice from a reference clip and its transcript (the audio itself is not stored)."""
    from gsv_edge.runtime.engine import Engine
    from gsv_edge.runtime.enroll import enroll_voice
    from gsv_edge.runtime.voices import check_name, save_voice

    check_name(name)
    folder = _voices_dir(pack, voices)
    if (folder / f"{name}.npz").exists() and not force:
        raise GsvEdgeError(f"voice {name!r} already exists in {folder}; pass --force to replace it")
    voice = enroll_voice(Engine.open(pack, backend=backend), name, ref, text, lang)
    path = save_voice(voice, folder, replace=force)  # exclusive without --force, even against a concurrent add
    typer.echo(f"enrolled {name}: {len(voice.prompt_tokens)} prompt tokens, {len(voice.phone_ids)} phones -> {path}")


@voice_app.command("list")
def voice_list(pack: PackOption, voices: VoicesOption = None) -> None:
    """List the voices enrolled for a pack."""
    from gsv_edge.runtime.voices import list_voices

    entries = list_voices(_voices_dir(pack, voices))
    if not entries:
        typer.echo("no voices yet; add one with: gsv-edge voice add NAME --pack PACK --ref clip.wav --text '...'")
    for entry in entries:
        typer.echo(f"{entry['name']:20s} {entry['language']:6s} {entry['seconds']:5.1f} s  {entry['text']}")


@voice_app.command("show")
def voice_show(name: str, pack: PackOption, voices: VoicesOption = None) -> None:
    """Print a voice's metadata as JSON."""
    from gsv_edge.runtime.pack import read_manifest
    from gsv_edge.runtime.voices import load_voice

    voice = load_voice(_voices_dir(pack, voices), name, read_manifest(pack, verify=False).fingerprint)
    typer.echo(json.dumps(voice.metadata(), ensure_ascii=False, indent=2))


@voice_app.command("rm")
def voice_rm(name: str, pack: PackOption, voices: VoicesOption = None) -> None:
    """Remove a voice."""
    from gsv_edge.runtime.voices import remove_voice

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
    audio_device: Annotated[
        str | None, typer.Option("--audio-device", help="Output device: a NAME or INDEX that 'doctor' lists.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Fix all randomness for reproducible output.")] = None,
    speed: Annotated[float, typer.Option(help="Speaking rate; above 1 is faster.")] = 1.0,
    top_k: Annotated[int | None, typer.Option(help="Sampling top-k (default: the model's).")] = None,
    top_p: Annotated[float, typer.Option(help="Sampling top-p (1 = off).")] = 1.0,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    voices: VoicesOption = None,
    profile: ProfileOption = None,
    backend: BackendOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Say which backends and settings run, and why.")] = False,
) -> None:
    """Speak text in an enrolled voice: to the sound card, a WAV file (-o) or raw PCM on stdout."""
    from gsv_edge.runtime.audio_out import WavWriter, play, write_raw
    from gsv_edge.runtime.profile import load_profile
    from gsv_edge.runtime.synthesizer import NoSpeakableText, SpeechOptions, Synthesizer

    if not voice:
        raise GsvEdgeError("no voice given; pass --voice NAME (see 'gsv-edge voice list --pack PACK')")
    options = SpeechOptions(top_k=top_k, top_p=top_p, temperature=temperature, speed=speed, seed=seed)  # checked
    settings = load_profile(profile).settings if profile else None
    synth = Synthesizer.load(pack, settings=settings, backend=backend, voices_dir=_voices_dir(pack, voices))
    if verbose:
        _describe(synth, profile)
    speaker = synth.voice(voice)
    rate = synth.manifest.sample_rate

    def speeches(whole_segments: bool):
        """Each line's audio as it is made: streamed chunks, or (for files) each segment decoded whole."""
        spoken = 0
        for line in _text_lines(text):
            try:
                speech = synth.open_stream(line, speaker, lang, options)
            except NoSpeakableText:
                if text is None:
                    continue  # a line of only punctuation in a pipe is passed over; a whole input of them is not
                raise
            spoken += 1
            with speech:
                yield from (speech.pieces() if whole_segments else speech)
        if not spoken:
            raise NoSpeakableText()

    if output_raw:
        for chunk in speeches(whole_segments=False):
            write_raw(chunk.samples)  # each chunk as soon as it is made
        return
    if output is None:
        underruns = play((chunk.samples for chunk in speeches(whole_segments=False)), rate, audio_device)
        if verbose:
            typer.echo(f"played; underruns: {underruns}", err=True)
        return
    seconds = 0.0
    with WavWriter(output, rate) as wav:  # written as it is made; a regular file appears whole at the end
        for piece in speeches(whole_segments=True):
            wav.write(piece.samples)
            seconds += piece.seconds
    typer.echo(f"wrote {output} ({seconds:.2f} s)", err=True)


def _text_lines(text: str | None):
    """The argument, or stdin line by line as each line arrives (so `llm | gsv-edge say` speaks while the text
    is still coming); blank lines are passed over. Input that is not text is refused by name (stdin is read as
    bytes and decoded here: Python's own decoding would end in a traceback)."""
    if text is not None:
        yield _checked_text(text, "the text")
        return
    for number, raw in enumerate(sys.stdin.buffer, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise GsvEdgeError(
                f"stdin line {number} is not UTF-8 text (byte {raw[err.start]:#04x} at {err.start}); pipe text"
            ) from None
        if line.strip():
            yield _checked_text(line.rstrip("\r\n"), f"stdin line {number}")


def _checked_text(text: str, where: str) -> str:
    control = next((ch for ch in text if ord(ch) < 32 and ch not in "\t\r\n" or ord(ch) == 127), None)
    if control is not None:
        raise GsvEdgeError(f"{where} holds the control character {ord(control):#04x}: binary data? give plain text")
    return text


def _describe(synth, profile: str | None) -> None:
    """--verbose: the backends that run each graph and why, and the streaming plan, on stderr."""
    engine = synth.engine
    main = engine.backend
    typer.echo(f"backend: {main.name} ({main.reason}), precision {main.precision}", err=True)
    for label, graph in (("GPT", "t2s"), ("SoVITS encoder", "sovits_enc")):
        chosen = engine.backend_for(graph)
        if chosen is not main:
            typer.echo(f"{label} backend: {chosen.name} ({chosen.reason})", err=True)
    plan = engine.settings.streaming
    source = f"profile {profile}" if profile else "the pack's settings"
    typer.echo(
        f"streaming ({source}): first chunk {plan.first_chunk_tokens} tokens, chunks up to {plan.chunk_tokens}, "
        f"left context {plan.left_context_tokens}, lookahead {plan.lookahead_tokens}, "
        f"decoder windows {list(plan.decoder_windows)}, overlap {'on' if plan.overlap else 'off'}",
        err=True,
    )


@app.command()
def doctor(
    pack: Annotated[Path | None, typer.Option("--pack", "-p", help="Also check this pack on this machine.")] = None,
    profile: ProfileOption = None,
    backend: BackendOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """What this machine offers (backends, CPU precisions, sound output), and how a pack would run here."""
    from gsv_edge.edge.doctor import diagnose

    report = diagnose(pack, backend, profile)
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_text())


@app.command()
def bench(
    pack: PackOption,
    backend: Annotated[
        str, typer.Option(help="profile (the pack's settings, or --profile's), openvino, onnxruntime, or all.")
    ] = "all",
    profile: ProfileOption = None,
    text: Annotated[str | None, typer.Option(help="Text to speak (default: the --lang sentence).")] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="en: a 20-word English sentence; zh: a 23-character Chinese one.")
    ] = "en",
    repeats: Annotated[int, typer.Option(help="Timed repetitions after one warm-up; medians are reported.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per setup.")] = False,
) -> None:
    """Measure a pack here: prefill, ms per token, vocoder RTF, first audio, RTF and peak RSS."""
    from gsv_edge.edge.bench import BENCH_TEXTS
    from gsv_edge.edge.bench import bench as run_bench
    from gsv_edge.runtime.pack import read_manifest
    from gsv_edge.runtime.profile import load_profile

    read_manifest(pack)
    if profile:
        load_profile(profile)  # a bad profile fails here, not in each measuring process
    setups = ("profile", "openvino", "onnxruntime")
    if backend not in (*setups, "all"):
        raise GsvEdgeError(f"unknown --backend {backend!r}; choose profile, openvino, onnxruntime or all")
    if repeats < 1:
        raise GsvEdgeError(f"--repeats {repeats}: use at least 1")
    if lang not in BENCH_TEXTS:
        raise GsvEdgeError(f"unknown --lang {lang!r}; choose {' or '.join(BENCH_TEXTS)}", option="lang")
    chosen = list(setups) if backend == "all" else [backend]
    results = run_bench(pack, chosen, text or BENCH_TEXTS[lang], repeats, profile)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        _print_bench(results)
    failed = [r for r in results if "error" in r]
    if failed:
        raise GsvEdgeError(f"bench: setup {failed[0]['setup']} failed: {failed[0]['error']}")


def _print_bench(results: list[dict]) -> None:
    columns = ("prefill_ms", "ms_per_token", "vocoder_rtf", "first_audio_ms", "rtf", "peak_rss_mb")
    if any(r.get("bert_ms") for r in results):  # a pack with BERT speaking Chinese
        columns = ("bert_ms", *columns)
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
    for r in results:
        if "process_first_audio_ms" in r:
            typer.echo(f"{r['setup']}: load {r['load_s']:.2f} s; a fresh process to its first audio "
                       f"{r['process_first_audio_ms']:.0f} ms")  # fmt: skip


@app.command()
def serve(
    pack: PackOption,
    voices: VoicesOption = None,
    profile: ProfileOption = None,
    backend: BackendOption = None,
    http: Annotated[
        str, typer.Option(help="HOST:PORT for the OpenAI-compatible HTTP API, or 'off'.")
    ] = "127.0.0.1:8000",
    wyoming: Annotated[
        str, typer.Option(help="tcp://HOST:PORT or unix:///path for Wyoming (Home Assistant), or 'off'.")
    ] = "tcp://127.0.0.1:10200",
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="GSV_EDGE_API_KEY",
            help="Bearer key HTTP clients must send; needed to "
            "bind HTTP beyond loopback and to manage voices over HTTP.",
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Allow listening beyond loopback without a key (prints a warning).")
    ] = False,
    max_streams: Annotated[int, typer.Option(help="Utterances spoken at once.")] = 2,
    queue: Annotated[int, typer.Option(help="Requests that may wait for a free stream; more get 'busy'.")] = 8,
    deadline: Annotated[float, typer.Option(help="Seconds a request may take, waiting included.")] = 120.0,
    drain_timeout: Annotated[
        float, typer.Option(help="On SIGTERM: seconds in-flight requests get to finish before they are cancelled.")
    ] = 10.0,
    zeroconf: Annotated[
        str | None, typer.Option(help="Announce the Wyoming server to Home Assistant under this name.")
    ] = None,
    fixed_tokens: Annotated[
        int | None, typer.Option(hidden=True, help="For tests and benchmarks only: tokens per segment.")
    ] = None,
    batching: Annotated[
        bool,
        typer.Option(
            "--batching/--no-batching",
            help="Advance every stream's GPT decode step in one batched call (needs the GPT on onnxruntime).",
        ),
    ] = True,
    ray: Annotated[
        bool, typer.Option("--ray", help="Serve the HTTP API on a Ray Serve cluster (needs gsv-edge[cluster]).")
    ] = False,
    ray_address: Annotated[
        str, typer.Option(help="With --ray: the cluster's address (HOST:PORT of its head), or 'local' to start one.")
    ] = "local",
    t2s_replicas: Annotated[int, typer.Option(help="With --ray: replicas of the GPT deployment.")] = 1,
    vocoder_replicas: Annotated[int, typer.Option(help="With --ray: replicas of the SoVITS deployment.")] = 1,
    replica_cpus: Annotated[float, typer.Option(help="With --ray: CPUs Ray reserves for each replica.")] = 1.0,
) -> None:
    """Serve voices to Home Assistant (Wyoming) and OpenAI-style clients (HTTP), with Prometheus metrics."""
    from gsv_edge.edge.serve.main import ServeConfig, run

    off = ("off", "")
    config = ServeConfig(
        pack, voices, profile, backend, None if http in off else http, None if wyoming in off else wyoming,
        api_key, no_auth, max_streams, queue, deadline, drain_timeout, zeroconf, fixed_tokens, batching,
    )  # fmt: skip
    if not ray:
        run(config)
        return
    import dataclasses
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise GsvEdgeError("--ray needs Ray Serve: pip install 'gsv-edge[cluster]'")
    if wyoming != "tcp://127.0.0.1:10200" and wyoming not in off:
        raise GsvEdgeError("--ray serves HTTP only: Wyoming (Home Assistant) needs a plain gsv-edge serve")
    if zeroconf is not None:
        raise GsvEdgeError("--ray serves HTTP only: --zeroconf announces Wyoming, which a plain gsv-edge serve serves")
    from gsv_edge.edge.serve import ray_app

    config = dataclasses.replace(config, wyoming=None)
    ray_app.run(config, ray_address, t2s_replicas, vocoder_replicas, replica_cpus)


@app.command()
def inspect(
    files: Annotated[list[Path], typer.Argument(help="GPT .ckpt and/or SoVITS .pth files.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Check GPT-SoVITS checkpoints: version, sizes, parameters, key coverage, and whether a pair belongs together.

    The files are read without running any code from them."""
    from gsv_edge.convert.inspect import inspect_files

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
    bert: Annotated[
        bool,
        typer.Option(
            "--bert",
            help="Also write a random chinese-roberta-wwm-ext-large folder (full size: 24 layers, hidden 1024; "
            "--size tiny: 3 layers) for convert --bert.",
        ),
    ] = False,
) -> None:
    """Write a seeded random GPT-SoVITS model in the official file formats (for demos and tests).

    Its weights are random: it shows the pipeline and its speed, not a voice."""
    from gsv_edge.convert.demo_model import write_demo_model

    written = write_demo_model(
        output, version=version, size=size, seed=seed, force=force, voice_assets=voice_assets, bert=bert
    )
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
    from gsv_edge.runtime.text import TextError, clean_text
    from gsv_edge.runtime.text import phonemize as run_phonemize

    if version not in ("v1", "v2"):
        raise GsvEdgeError(f"unknown --version {version!r}; choose v1 or v2")
    if g2pw is None and (bert_tokenizer is not None or g2pw_dict):
        raise GsvEdgeError("--bert-tokenizer and --g2pw-dict only apply with --g2pw DIR; add it or drop them")
    if text is None:
        text = "\n".join(_text_lines(None))  # stdin, checked as say checks it
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
        raise GsvEdgeError(str(err)) from None
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
    from gsv_edge.runtime.text.zh_g2pw import G2PW

    return G2PW(folder, tokenizer, dictionaries or None)


@app.command("bench-serve")
def bench_serve(
    pack: PackOption,
    voice: Annotated[str | None, typer.Option(help="An enrolled voice (default: a stand-in voice).")] = None,
    voices: VoicesOption = None,
    levels: Annotated[str, typer.Option(help="Concurrent clients per level, comma-separated.")] = "1,2,4,8",
    requests: Annotated[int, typer.Option(help="Requests per level (at least one per client).")] = 8,
    batching: Annotated[str, typer.Option(help="both (interleaved), on or off: which servers to measure.")] = "both",
    profile: ProfileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print one JSON object: {"levels": [...]}.')] = False,
) -> None:
    """Load-test `gsv-edge serve` on a pack: concurrent HTTP clients, batching on and off, interleaved."""
    from gsv_edge.edge.serve.bench_serve import measure, summary_lines
    from gsv_edge.runtime.pack import read_manifest
    from gsv_edge.runtime.profile import load_profile

    read_manifest(pack)
    try:
        counts = tuple(int(part) for part in levels.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise GsvEdgeError(f"--levels {levels!r}: use positive integers separated by commas, e.g. 1,2,4,8")
    if requests < 1:
        raise GsvEdgeError(f"--requests {requests}: use at least 1")
    setups = {"both": (True, False), "on": (True,), "off": (False,)}.get(batching)
    if setups is None:
        raise GsvEdgeError(f"--batching {batching!r}: choose both, on or off")
    if voice is not None and voices is None:
        voices = pack / "voices"
    if profile:
        load_profile(profile)  # a bad profile fails here, not in the servers
    result = measure(pack, voice, voices, counts, requests, setups, profile)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for line in summary_lines(result):
        typer.echo(line)


@app.command("bench-text")
def bench_text(
    lang: Annotated[list[str] | None, typer.Option("--lang", help="Modes to time (default zh, en, ja, auto).")] = None,
    calls: Annotated[int, typer.Option(help="Random inputs per mode.")] = 2000,
    max_chars: Annotated[int, typer.Option(help="Longest input, in characters.")] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per mode.")] = False,
) -> None:
    """Time the text front end per call on seeded random and ordinary inputs: median, p99 and max ms."""
    from gsv_edge.runtime.text.bench import MODES, measure

    modes = lang or list(MODES)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise GsvEdgeError(f"unknown --lang {unknown[0]!r}; choose from {', '.join(MODES)}")
    if calls < 1 or max_chars < 0:
        raise GsvEdgeError("--calls must be at least 1 and --max-chars at least 0")
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
        str | None,
        typer.Option(
            "--weight-format",
            help="Force the GPT weights: int8, int4, fp16 or fp32, instead of the profile's list and its quality gate.",
        ),
    ] = None,
    sovits_format: Annotated[
        str | None,
        typer.Option(
            "--sovits-format",
            help="Force the SoVITS weights: fp16, int8 or fp32, instead of the profile's list and its quality gate "
            "(fp32 keeps the ONNX encoder fp32 too).",
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
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also show what the libraries print (always kept in PACK/convert.log).")
    ] = False,
) -> None:
    """Convert a GPT-SoVITS model into a pack for a device, checked against the torch reference.

    The pack holds OpenVINO IR and ONNX, quantized as the profile says, the profile's runtime settings, an
    accuracy report and the conversion's log."""
    import time

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from gsv_edge.convert.convert import ConvertOptions, Terminated
    from gsv_edge.convert.convert import convert as run_convert

    if g2pw is None and g2pw_dict:
        raise GsvEdgeError("--g2pw-dict only applies with --g2pw DIR; add it or drop --g2pw-dict")
    options = ConvertOptions(
        gpt, sovits, output, profile, weight_format, sovits_format, hubert, bert, force, sv=sv, g2pw=g2pw,
        g2pw_dicts=g2pw_dict,
    )  # fmt: skip
    # The stream itself, not "whatever sys.stderr is": the conversion points sys.stderr at its log meanwhile.
    console = Console(file=sys.stderr)
    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    # No live bar where stderr is not a terminal: rich would end it with a blank line before any error.
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("starting", total=None)

        def show(step: str, seconds: float | None) -> None:
            if seconds is None:
                bar.update(task, description=step)
            else:
                bar.console.print(f"[green]✓[/green] {step:<12s} {seconds:6.1f} s", highlight=False)

        # OpenVINO's converter reads --verbose from sys.argv too, and then also prints its conversion arguments.
        try:
            written, report = run_convert(options, progress=show, echo=sys.stderr if verbose else None)
        except Terminated:  # its staging folder is gone; the usual exit status of a process ended by SIGTERM
            typer.echo("terminated: nothing was written", err=True)
            raise typer.Exit(143) from None
    Console().print(_accuracy_table(report))
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    size = sum(p.stat().st_size for p in written.rglob("*") if p.is_file()) / 1e6
    typer.echo(f"wrote {written} ({size:.0f} MB) in {time.perf_counter() - started:.0f} s")


def _accuracy_table(report):
    """The report as a table that fits 80 columns: its main numbers per check (report.json has them all)."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="accuracy (report.json)",
        caption="✓ met its threshold  ✗ missed it  · measured only",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    for column in ("graph", "backend", "precision", "vs", "result", ""):
        table.add_column(column, no_wrap=True)
    for row in report.rows():
        table.add_row(*row)
    return table


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
    from gsv_edge.convert.bench import bench_t2s as run_bench
    from gsv_edge.convert.checkpoint import load_gpt

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


# The flag of each library parameter a GsvEdgeError can name (GsvEdgeError.option).
FLAGS = {"backend": "--backend", "profile": "--profile", "text": "--text", "hubert": "--hubert", "bert": "--bert",
         "sv": "--sv", "g2pw": "--g2pw", "output": "-o out.wav or --output-raw", "top_k": "--top-k",
         "top_p": "--top-p", "temperature": "--temperature", "speed": "--speed", "seed": "--seed"}  # fmt: skip


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main() -> None:
    """Console entry point: every mistake a user can fix is one line on stderr and exit code 2, no traceback."""
    try:
        code = app(standalone_mode=False)
    except GsvEdgeError as err:
        flag = FLAGS.get(err.option or "")
        message = _one_line(err)
        if flag and flag not in message:
            message += f" ({flag})"
        typer.echo(f"error: {message}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:  # typer returns 130 for Ctrl-C inside a command; this is Ctrl-C outside one
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as err:  # disk full, read-only, not a folder, no permission: the system's words, and the path
        where = f": {err.filename}" if err.filename else ""
        typer.echo(f"error: {_one_line(err.strerror or err)}{where}", err=True)
        sys.exit(2)
    except Exception as err:
        code = _usage_error(err)
        if code is None:
            raise
        sys.exit(code)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(err: Exception) -> int | None:
    """The exit code for a command-line usage error of whichever click the installed typer uses (its own bundled
    copy in typer 0.29, the click package before), after printing it; None for anything else. Matched by the
    classes' names, so it does not depend on which copy raised it."""
    names = {cls.__name__ for cls in type(err).__mro__}
    if "Exit" in names:
        return int(getattr(err, "exit_code", 0) or 0)
    if "Abort" in names:
        typer.echo("aborted", err=True)
        return 1
    if "NoArgsIsHelpError" in names:  # a bare `gsv-edge` or `gsv-edge voice`: the help, as asked
        typer.echo(err.ctx.get_help() if getattr(err, "ctx", None) else err.format_message())
        return 0
    if "ClickException" in names:
        context = getattr(err, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        typer.echo(f"error: {_one_line(err.format_message())}{hint}", err=True)
        return 2
    return None


if __name__ == "__main__":
    main()
