"""Which GPT-SoVITS version a checkpoint is, from the file's own evidence, and whether a GPT/SoVITS pair fits.

Evidence, strongest first: the two-byte header code that replaces "PK" (v2Pro "05", v2ProPlus "06", ...),
the weights themselves (speaker-verification layers only exist in v2Pro/v2ProPlus, the phone table has 322
rows in v1 and 732 in v2, v3/v4 carry a flow-matching "cfm" module), then the config's ``version`` field.
Upstream also guesses from the file size; we never do, because small fine-tunes and tiny test models break it.
"""

from __future__ import annotations

from typing import Any

import torch

from gsv_edge.convert.checkpoint import HEADER_CODES, CheckpointError, GptCheckpoint, RawCheckpoint, SovitsCheckpoint

SUPPORTED = ("v1", "v2", "v2Pro", "v2ProPlus")
SYMBOL_TABLE_ROWS = {322: "v1", 732: "v2"}
# GPT phone-embedding rows per symbol table: the v1 GPT was trained with a 512-row table over the 322 symbols.
GPT_PHONE_ROWS = {512: "v1", 732: "v2"}
OUT_OF_SCOPE = (
    "{what}: gsv-edge runs v1, v2, v2Pro and v2ProPlus; v3/v4 use a flow-matching decoder and a large vocoder "
    "(15-60x the compute) that small CPUs cannot run in real time; use a v2Pro or v2ProPlus model instead"
)


def detect_sovits_version(
    raw: RawCheckpoint, weights: dict[str, torch.Tensor], config: dict[str, Any]
) -> tuple[str, str]:
    """Return (version, evidence) for a SoVITS checkpoint, or raise CheckpointError for v3/v4/LoRA files."""
    where = str(raw.path)
    code = raw.header.encode("ascii") if raw.header not in ("PK", "pickle") else None
    header_version = HEADER_CODES.get(code) if code else None
    config_version = str(config.get("model", {}).get("version") or config.get("version") or "")

    if header_version in ("v3-lora", "v4-lora") or "lora_rank" in raw.payload:
        kind = header_version or "LoRA"
        raise CheckpointError(OUT_OF_SCOPE.format(what=f"{where} is a {kind} fine-tune"))
    if header_version == "v3" or config_version in ("v3", "v4") or any(k.startswith("cfm.") for k in weights):
        raise CheckpointError(OUT_OF_SCOPE.format(what=f"{where} is a GPT-SoVITS {config_version or 'v3/v4'} model"))

    if "enc_p.text_embedding.weight" not in weights:
        raise CheckpointError(f"{where}: no enc_p.text_embedding weights; this is not a SoVITS model file")
    rows = int(weights["enc_p.text_embedding.weight"].shape[0])
    if rows not in SYMBOL_TABLE_ROWS:
        raise CheckpointError(
            f"{where}: the phone table has {rows} rows; GPT-SoVITS uses 322 (v1) or 732 (v2), so this is not a "
            "GPT-SoVITS SoVITS file"
        )
    has_sv = "sv_emb.weight" in weights

    if header_version in ("v2Pro", "v2ProPlus"):
        if not has_sv:
            raise CheckpointError(
                f"{where}: the header says {header_version} but the speaker-verification layers (sv_emb.*) are "
                "missing; the file is damaged or mislabelled, export it again"
            )
        return header_version, f"header code {raw.header!r}"
    if has_sv:
        # A v2Pro-family file that lost its header code (e.g. re-saved by another tool).
        if config_version in ("v2Pro", "v2ProPlus"):
            return config_version, "speaker-verification layers present, config version"
        channels = int(weights["dec.conv_pre.weight"].shape[0]) if "dec.conv_pre.weight" in weights else 0
        guess = "v2ProPlus" if channels >= 768 else "v2Pro"
        return guess, f"speaker-verification layers present, generator width {channels}"
    version = SYMBOL_TABLE_ROWS[rows]
    evidence = f"{rows}-symbol phone table"
    if header_version in ("v1", "v2") and header_version != version:
        evidence += f" (header code {raw.header!r} says {header_version}; the weights win)"
    return version, evidence


def check_gpt(ckpt: GptCheckpoint) -> None:
    """Refuse GPT files that are not a GPT-SoVITS Text2SemanticDecoder we can run."""
    model = ckpt.model_config
    for key in ("embedding_dim", "hidden_dim", "head", "n_layer", "vocab_size", "phoneme_vocab_size"):
        if key not in model:
            raise CheckpointError(f"{ckpt.path}: the GPT config lacks model.{key}; this is not a GPT-SoVITS GPT file")
    name = "ar_text_embedding.word_embeddings.weight"
    if name not in ckpt.state_dict:
        raise CheckpointError(f"{ckpt.path}: no model.{name}; this is not a GPT-SoVITS GPT file")
    if ckpt.phone_vocab not in GPT_PHONE_ROWS and ckpt.phone_vocab < 732:
        raise CheckpointError(
            f"{ckpt.path}: the GPT phone embedding has {ckpt.phone_vocab} rows; expected 512 (v1) or 732 (v2)"
        )


def check_pair(gpt: GptCheckpoint, sovits: SovitsCheckpoint) -> None:
    """Refuse a GPT and a SoVITS that were not trained on the same phone table."""
    if gpt.symbol_version != sovits.symbol_version:
        raise CheckpointError(
            f"{gpt.path.name} and {sovits.path.name} do not belong together: the GPT uses the {gpt.symbol_version} "
            f"phone table ({gpt.phone_vocab} rows) but the SoVITS model is {sovits.version} "
            f"({sovits.state_dict['enc_p.text_embedding.weight'].shape[0]} symbols); use a GPT and a SoVITS "
            "file trained together"
        )
