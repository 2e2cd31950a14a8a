"""Whether a GPT and a SoVITS checkpoint belong together (both read by ``convert.checkpoint``, which also
decides each file's version).
"""

from __future__ import annotations

from gsv_edge.convert.checkpoint import CheckpointError, GptCheckpoint, SovitsCheckpoint


def check_pair(gpt: GptCheckpoint, sovits: SovitsCheckpoint) -> None:
    """Refuse a GPT and a SoVITS that were not trained on the same phone table."""
    if gpt.symbol_version != sovits.symbol_version:
        raise CheckpointError(
            f"{gpt.path.name} and {sovits.path.name} do not belong together: the GPT uses the {gpt.symbol_version} "
            f"phone table ({gpt.phone_vocab} rows) but the SoVITS model is {sovits.version} "
            f"({sovits.state_dict['enc_p.text_embedding.weight'].shape[0]} symbols); use a GPT and a SoVITS "
            "file trained together"
        )
