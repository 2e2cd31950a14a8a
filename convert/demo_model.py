"""`gsv-edge demo-model`: seeded random GPT-SoVITS models in the official file formats.

The files are what the upstream trainer writes: a GPT ``.ckpt`` {weight (fp16, keys prefixed "model."),
config (the training yaml as a dict), info} and a SoVITS ``.pth`` {weight (fp16, weight-normed layers stored as
weight_g/weight_v), config (nested ``utils.HParams``), info}, with the v2Pro/v2ProPlus header code. They are read
back by the same loader as official files, so the demo, the benchmarks and the tests exercise the real path.

The weights are random: the model shows the pipeline and its speed, not a voice.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from gsv_edge.convert.checkpoint import HParams, to_hparams, unfold_weight_norm, write_checkpoint
from gsv_edge.convert.demo_bert import FOLDER_NAME as BERT_FOLDER
from gsv_edge.convert.demo_bert import write_demo_bert
from gsv_edge.runtime.errors import GsvEdgeError

VERSIONS = ("v1", "v2", "v2Pro", "v2ProPlus")
SIZES = ("full", "tiny")

# The official GPT training yaml (s1longer-v2.yaml; v1: s1longer.yaml, with a 512-row phone table and top_k 5).
GPT_CONFIG: dict[str, Any] = {
    "train": {"seed": 1234, "epochs": 20, "batch_size": 8, "save_every_n_epoch": 1, "precision": "16-mixed",
              "gradient_clip": 1.0},
    "optimizer": {"lr": 0.01, "lr_init": 1e-05, "lr_end": 0.0001, "warmup_steps": 2000, "decay_steps": 40000},
    "data": {"max_eval_sample": 8, "max_sec": 54, "num_workers": 4, "pad_val": 1024},
    "model": {"vocab_size": 1025, "phoneme_vocab_size": 732, "embedding_dim": 512, "hidden_dim": 512, "head": 16,
              "linear_units": 2048, "n_layer": 24, "dropout": 0, "EOS": 1024, "random_bert": 0},
    "inference": {"top_k": 15},
}  # fmt: skip
GPT_TINY = {"embedding_dim": 64, "hidden_dim": 64, "head": 2, "linear_units": 256, "n_layer": 2}

# The official SoVITS config (s2.json; v2Pro: s2v2Pro.json; v2ProPlus: s2v2ProPlus.json).
SOVITS_CONFIG: dict[str, Any] = {
    "train": {"seed": 1234, "epochs": 100, "learning_rate": 0.0001, "betas": [0.8, 0.99], "eps": 1e-09,
              "batch_size": 32, "fp16_run": True, "lr_decay": 0.999875, "segment_size": 20480, "init_lr_ratio": 1,
              "warmup_epochs": 0, "c_mel": 45, "c_kl": 1.0, "text_low_lr_rate": 0.4},
    "data": {"max_wav_value": 32768.0, "sampling_rate": 32000, "filter_length": 2048, "hop_length": 640,
             "win_length": 2048, "n_mel_channels": 128, "mel_fmin": 0.0, "mel_fmax": None, "add_blank": True,
             "n_speakers": 300, "cleaned_text": True},
    "model": {"inter_channels": 192, "hidden_channels": 192, "filter_channels": 768, "n_heads": 2, "n_layers": 6,
              "kernel_size": 3, "p_dropout": 0.1, "resblock": "1", "resblock_kernel_sizes": [3, 7, 11],
              "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "upsample_rates": [10, 8, 2, 2, 2],
              "upsample_initial_channel": 512, "upsample_kernel_sizes": [16, 16, 8, 2, 2], "n_layers_q": 3,
              "use_spectral_norm": False, "gin_channels": 512, "semantic_frame_rate": "25hz",
              "freeze_quantizer": True},
    "s2_ckpt_dir": "logs/demo",
    "content_module": "cnhubert",
}  # fmt: skip
SOVITS_VERSION_MODEL = {
    "v1": {},
    "v2": {},
    "v2Pro": {"gin_channels": 1024, "p_dropout": 0.0},
    "v2ProPlus": {"gin_channels": 1024, "p_dropout": 0.0, "upsample_initial_channel": 768,
                  "upsample_kernel_sizes": [20, 16, 8, 2, 2]},
}  # fmt: skip
# The tiny sizes of ../shared/conformance (its README §2): small enough for unit tests, same structure.
SOVITS_TINY = {"filter_channels": 64, "n_layers": 2, "upsample_initial_channel": 32, "resblock_kernel_sizes": [3],
               "resblock_dilation_sizes": [[1, 3, 5]]}  # fmt: skip
SOVITS_TINY_GIN = {"v2Pro": 64, "v2ProPlus": 64}
HEADER_CODE = {"v2Pro": "05", "v2ProPlus": "06"}
# Layers the official SoVITS keeps under weight norm (stored as weight_g / weight_v).
WEIGHT_NORMED = re.compile(
    r"^(dec\.ups\.\d+|dec\.resblocks\.\d+\.convs[12]\.\d+"
    r"|flow\.flows\.\d+\.enc\.(in_layers\.\d+|res_skip_layers\.\d+|cond_layer))\.weight$"
)


def gpt_config(version: str, size: str) -> dict[str, Any]:
    config = copy.deepcopy(GPT_CONFIG)
    if version == "v1":
        config["model"]["phoneme_vocab_size"] = 512
        config["inference"]["top_k"] = 5
    if size == "tiny":
        config["model"].update(GPT_TINY)
    return config


def sovits_config(version: str, size: str) -> dict[str, Any]:
    config = copy.deepcopy(SOVITS_CONFIG)
    model = config["model"]
    model.update(SOVITS_VERSION_MODEL[version])
    if size == "tiny":
        model.update(SOVITS_TINY)
        if version in SOVITS_TINY_GIN:
            model["gin_channels"] = SOVITS_TINY_GIN[version]
    model["version"] = version
    config["version"] = version
    config["name"] = f"gsv-edge-demo-{version}-{size}"
    return config


@torch.no_grad()
def _randomise(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Seeded weights: torch's default init, then every part made to matter (norm affine, codebook, alphas)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in module.state_dict().items():
        if not tensor.is_floating_point():
            state[name] = tensor.clone()
            continue
        if name.endswith(("gamma", "norm1.weight", "norm2.weight")) or re.search(r"norm\w*\.weight$", name):
            value = 1 + 0.1 * torch.randn(tensor.shape, generator=generator)
        elif name.endswith(("beta", ".bias")):
            value = 0.02 * torch.randn(tensor.shape, generator=generator)
        elif name.endswith("alpha"):
            value = torch.ones(tensor.shape)
        elif name.endswith("_codebook.inited"):
            value = torch.ones(tensor.shape)
        elif name.endswith("_codebook.cluster_size"):
            value = 1 + 99 * torch.rand(tensor.shape, generator=generator)
        elif tensor.dim() >= 2:
            fan_in = tensor[0].numel() if not name.startswith("dec.ups") else tensor.shape[0] * tensor.shape[2]
            value = torch.randn(tensor.shape, generator=generator) / max(fan_in, 1) ** 0.5
        else:
            value = 0.1 * torch.randn(tensor.shape, generator=generator)
        state[name] = value
    if any(k.endswith("_codebook.embed") for k in state):
        key = next(k for k in state if k.endswith("_codebook.embed"))
        state[key] = 0.6 * torch.randn(state[key].shape, generator=generator)
        state[key.replace(".embed", ".embed_avg")] = state[key].clone()
    return state


def _to_official_sovits_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if WEIGHT_NORMED.match(name):
            g, v = unfold_weight_norm(tensor)
            weights[name[: -len("weight")] + "weight_g"] = g.half()
            weights[name[: -len("weight")] + "weight_v"] = v.half()
        else:
            weights[name] = tensor.half()
    return weights


# A random GPT almost never samples EOS, so every utterance would run to the step cap (60 s). The demo GPT
# gets a stop rate instead: about one stop per DEMO_MEAN_TOKENS steps (4 s of audio).
DEMO_MEAN_TOKENS = 100
EOS_BIAS_CHANNEL = 0  # the hidden channel that is made constant and carries EOS's bias
DEMO_TRANSCRIPT = "这是一段用来演示的参考音频。"
DEMO_CLIP_SECONDS = 5.0
# A small random HuBERT (the official chinese-hubert-base is 95 M parameters): hidden size 768 as SoVITS'
# ssl_proj expects, 2 layers, narrow convolutions. It only has to make prompt tokens of the right shape.
DEMO_HUBERT = {"hidden_size": 768, "num_hidden_layers": 2, "num_attention_heads": 12, "intermediate_size": 256,
               "conv_dim": [32] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
               "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16, "feat_extract_norm": "group",
               "do_stable_layer_norm": False}  # fmt: skip


def _stop_rate(logits: torch.Tensor, bias: float, top_k: int) -> float:
    """Mean chance per step that EOS (logit ``bias``) is the argmax or is sampled under top-k, over rows of
    non-EOS logits [steps, V-1] (the repetition penalty is left out: it only lowers other tokens)."""
    top = torch.topk(logits, top_k, dim=-1).values
    rates = []
    for row in top:
        if bias >= row[0]:
            rates.append(1.0)
        elif bias > row[top_k - 1]:
            kept = torch.cat([row[: top_k - 1], torch.tensor([bias])])
            rates.append(float(torch.softmax(kept, 0)[-1]))
        else:
            rates.append(0.0)
    return sum(rates) / len(rates)


@torch.no_grad()
def _calibrate_eos(gpt_cfg: dict, state: dict[str, torch.Tensor], seed: int) -> None:
    """Give the random GPT an EOS bias so it stops after ~DEMO_MEAN_TOKENS tokens on average.

    The last layer is post-norm, so its norm2 output is what ar_predict_layer reads: one channel of it is made
    constant 1 (weight 0, bias 1), every token's weight on that channel 0, and EOS's row becomes
    ``bias`` × that channel, i.e. a constant EOS logit. ``bias`` is chosen on logits the model really makes.
    """
    from gsv_edge.convert.reference import build_gpt

    model_cfg = gpt_cfg["model"]
    last, eos = int(model_cfg["n_layer"]) - 1, int(model_cfg["EOS"])
    state[f"h.layers.{last}.norm2.weight"][EOS_BIAS_CHANNEL] = 0.0
    state[f"h.layers.{last}.norm2.bias"][EOS_BIAS_CHANNEL] = 1.0
    predict = state["ar_predict_layer.weight"]
    predict[:, EOS_BIAS_CHANNEL] = 0.0
    predict[eos] = 0.0

    model = build_gpt(model_cfg).eval()
    model.load_state_dict(state)
    generator = torch.Generator().manual_seed(seed)
    phones = torch.randint(1, int(model_cfg["phoneme_vocab_size"]), (40,), generator=generator)
    prompt = torch.randint(0, eos, (50,), generator=generator)
    logits, cache = model.prefill(phones, torch.zeros(1024, 40), prompt)
    rows = []
    for step in range(48):
        rows.append(logits[:eos].float())
        token = int(torch.multinomial(torch.softmax(logits[:eos].float(), 0), 1, generator=generator))
        logits, cache = model.decode_step(token, len(prompt) + step, cache)
    observed = torch.stack(rows)
    top_k, target = int(gpt_cfg["inference"]["top_k"]), 1.0 / DEMO_MEAN_TOKENS
    low, high = float(observed.min()), float(observed.max())
    for _ in range(60):  # the stop rate grows with the bias: bisect
        middle = (low + high) / 2
        low, high = (middle, high) if _stop_rate(observed, middle, top_k) < target else (low, middle)
    predict[eos, EOS_BIAS_CHANNEL] = high


def _write_demo_voice_assets(folder: Path, seed: int) -> None:
    """A small random HuBERT folder and a generated 5 s reference clip, for enrolling a demo voice."""
    import soundfile as sf
    from transformers import HubertConfig, HubertModel

    from gsv_edge.convert.passes.common import synthetic_voice

    torch.manual_seed(seed)
    HubertModel(HubertConfig(**DEMO_HUBERT)).eval().save_pretrained(folder / "chinese-hubert-base-demo")
    sf.write(folder / "reference.wav", synthetic_voice(32000, DEMO_CLIP_SECONDS, seed), 32000, subtype="PCM_16")
    (folder / "reference.txt").write_text(DEMO_TRANSCRIPT + "\n", encoding="utf-8")


def write_demo_model(
    output: str | Path,
    version: str = "v2",
    size: str = "full",
    seed: int = 0,
    force: bool = False,
    voice_assets: bool = False,
    bert: bool = False,
) -> list[Path]:
    """Write gpt.ckpt and sovits.pth into ``output`` (atomically: a temp folder renamed at the end); with
    ``voice_assets`` also a small random HuBERT folder and a reference clip with its transcript; with ``bert``
    a random chinese-roberta-wwm-ext-large folder (``gsv_edge.convert.demo_bert``; at ``size`` "tiny" a small one)."""
    from gsv_edge.convert.reference import build_gpt, build_sovits

    if version not in VERSIONS:
        raise GsvEdgeError(f"unknown version {version!r}; choose one of {', '.join(VERSIONS)}")
    if size not in SIZES:
        raise GsvEdgeError(f"unknown size {size!r}; choose 'full' or 'tiny'")
    output = Path(output)
    if output.exists() and not force:
        raise GsvEdgeError(f"{output} already exists; pass --force to replace it or choose another -o folder")

    gpt_cfg = gpt_config(version, size)
    sovits_cfg = sovits_config(version, size)
    gpt_state = _randomise(build_gpt(gpt_cfg["model"]), seed)
    _calibrate_eos(gpt_cfg, gpt_state, seed)
    sovits_state = _randomise(build_sovits(sovits_cfg["model"], version), seed + 100)

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_checkpoint(
            {"weight": {f"model.{k}": v.half() for k, v in gpt_state.items()}, "config": gpt_cfg, "info": "GPT-e1"},
            staging / "gpt.ckpt",
        )
        hparams: HParams = to_hparams(sovits_cfg)
        write_checkpoint(
            {"weight": _to_official_sovits_weights(sovits_state), "config": hparams, "info": "1epoch_1iteration"},
            staging / "sovits.pth",
            header=HEADER_CODE.get(version, "PK"),
        )
        if voice_assets:
            _write_demo_voice_assets(staging, seed)
        if bert:
            write_demo_bert(staging, size, seed + 200)
        if output.exists():
            shutil.rmtree(output)
        os.replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = [output / "gpt.ckpt", output / "sovits.pth"]
    if voice_assets:
        written += [output / "chinese-hubert-base-demo", output / "reference.wav", output / "reference.txt"]
    if bert:
        written.append(output / BERT_FOLDER)
    return written
