"""The g2pw pass (with ``--g2pw``, v2): g2pW for Chinese polyphones, from upstream's G2PWModel folder.

Writes the pack's ``g2pw/`` folder: the folder's tables, ``g2pW.int8.onnx`` (an INT8 dynamic-quantized copy of
the BERT-base sized model), the tokenizer beside it and the polyphonic dictionaries merged into one
``polyphonic.rep``. Checks: the INT8 model's readings of polyphone sentences against the fp32 model's.

The dictionaries are ``--g2pw-dict``'s files, else the folder's, else upstream's two files among the installed
packages (``gpt-sovits-cpufast``'s data files) when both are upstream's bytes. Each source's sha256 is compared with
upstream's (``runtime/text/data.py``) and the manifest's ``text_data`` says which were upstream's; a file of the
user's own is packed as given, and the report says it is not upstream's.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsv_edge.convert.passes.common import quantize_onnx
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import file_sha256
from gsv_edge.runtime.text.data import G2PW_DICTIONARIES, upstream_copy

if TYPE_CHECKING:
    from gsv_edge.convert.checkpoint import SovitsCheckpoint
    from gsv_edge.convert.convert import Context, ConvertOptions

FOLDER = "g2pw"
# Sentences with polyphones for the INT8-vs-fp32 check (normalised zh text, one sentence each).
CHECK_SENTENCES = (
    "银行的行长说，这件事很重要。",
    "他为了这次长跑着急得睡不着觉。",
    "重庆的长城音乐会还差一点就开始了。",
    "我们都觉得这个地方的人很好客。",
)


def wanted(ctx: Context) -> bool:
    return ctx.options.g2pw is not None


def run(ctx: Context) -> None:
    """Copy the folder's files, quantize the model to INT8, check its readings against fp32's."""
    from gsv_edge.runtime.text import zh_normalize
    from gsv_edge.runtime.text.zh_g2pw import G2PW, REQUIRED_FILES, TOKENIZER_FILE

    source = source_of(ctx.options, ctx.sovits)
    target = ctx.staging / FOLDER
    target.mkdir()
    for name in REQUIRED_FILES:
        shutil.copyfile(source.folder / name, target / name)
    shutil.copyfile(source.tokenizer, target / TOKENIZER_FILE)
    dictionaries = source.dictionaries or _installed_dictionaries(ctx)
    if dictionaries:
        # later files win, as upstream reads them: one merged file keeps that order
        merged = "".join(path.read_text(encoding="utf-8").rstrip("\n") + "\n" for path in dictionaries)
        (target / "polyphonic.rep").write_text(merged, encoding="utf-8")
        ctx.text_data["g2pw_dictionary"] = {
            "path": f"{FOLDER}/polyphonic.rep",
            "sha256": file_sha256(target / "polyphonic.rep"),
            "origin": " + ".join(_origin(ctx, path) for path in dictionaries),
        }
    quantize_onnx(source.model, "int8", target / "g2pW.int8.onnx")
    shipped = G2PW(target)

    sentences = [zh_normalize.text_normalize(text) for text in CHECK_SENTENCES]
    expected, got = source.predictions(sentences), shipped.predictions(sentences)
    agreement = float(np.mean([a == b for a, b in zip(expected, got, strict=True)])) if expected else 1.0
    ctx.report.verify(("g2pw", "onnxruntime", "int8", "fp32"), {"readings_agreement": agreement})
    ctx.tables["g2pw"] = FOLDER


def _installed_dictionaries(ctx: Context) -> list[Path]:
    """Upstream's polyphonic.rep and polyphonic-fix.rep from the installed packages, when both are upstream's."""
    found = [upstream_copy(data) for data in G2PW_DICTIONARIES]
    if all(found):
        return found
    ctx.report.notes.append(
        "no polyphonic dictionary in g2pw/: neither --g2pw-dict nor the G2PWModel folder has one, and the installed "
        "packages hold no upstream polyphonic.rep and polyphonic-fix.rep (gpt-sovits-cpufast 0.1.0's "
        "polyphonic-fix.rep is not upstream's); pass upstream's two files with --g2pw-dict"
    )
    return []


def _origin(ctx: Context, path: Path) -> str:
    """Upstream's file that ``path`` is byte for byte, or a note that it is the user's own."""
    digest = file_sha256(path)
    for data in G2PW_DICTIONARIES:
        if digest == data.sha256:
            return data.origin
    ctx.report.notes.append(f"g2pW dictionary {path.name} is not upstream's (sha256 {digest[:16]}…); packed as given")
    return f"{path.name} as given, not upstream's (sha256 {digest})"


def source_of(options: ConvertOptions, sovits: SovitsCheckpoint):
    """The --g2pw folder as a g2pW reader (files checked, nothing loaded yet); its tokenizer is the folder's
    tokenizer.json, else the --bert folder's."""
    from gsv_edge.runtime.text import TextError
    from gsv_edge.runtime.text.zh_g2pw import G2PW, TOKENIZER_FILE

    if sovits.symbol_version == "v1":
        raise GsvEdgeError(
            f"--g2pw is for v2 models (upstream's v1 never uses g2pW), and {sovits.path.name} is v1; drop --g2pw"
        )
    folder = Path(options.g2pw)
    tokenizer = None
    if not (folder / TOKENIZER_FILE).is_file():
        if options.bert is None or not (Path(options.bert) / TOKENIZER_FILE).is_file():
            raise GsvEdgeError(
                f"--g2pw {folder}: no {TOKENIZER_FILE} there; pass --bert (chinese-roberta-wwm-ext-large, whose "
                "tokenizer g2pW uses) or copy its tokenizer.json into the folder"
            )
        tokenizer = Path(options.bert) / TOKENIZER_FILE
    try:
        return G2PW(folder, tokenizer, options.g2pw_dicts or None)
    except TextError as err:
        raise GsvEdgeError(str(err)) from None
