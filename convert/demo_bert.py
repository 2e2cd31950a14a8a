"""`gsv-edge demo-model --bert`: a seeded random chinese-roberta-wwm-ext-large folder in the Hugging Face layout.

Upstream feeds this model's features to every Chinese phone; the demo model without it leaves out what Chinese
really costs on a device. The folder holds what the official one does, with random weights: ``config.json``
(BERT-large: 24 layers, hidden 1024, 16 heads, intermediate 4096, vocabulary 21128, as the official config
states), the weights (``model.safetensors``: not a pickle), and the tokenizer files ``vocab.txt`` (WordPiece,
21128 entries, the official special-token ids), ``tokenizer.json``, ``tokenizer_config.json`` and
``special_tokens_map.json``, all written by transformers' own ``BertTokenizerFast`` from that vocabulary. Upstream
reads ``hidden_states[-3]``, the output of layer 22: ``convert --bert`` keeps those 22 layers.

The vocabulary is not the official one (which cannot be obtained here): the official ids of [PAD] 0, [unused1-99],
[UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, then ASCII, Chinese punctuation and the CJK Unified Ideographs from
U+4E00 in code-point order until 21128 entries, so every common Chinese character is one token, as in the official
vocabulary. With ``size="tiny"`` (for tests) the model keeps hidden 1024 (the GPT's ``bert_proj`` reads 1024) and
the full vocabulary, with 3 layers, 4 heads and intermediate 128.
"""

from __future__ import annotations

from pathlib import Path

FOLDER_NAME = "chinese-roberta-wwm-ext-large-demo"
VOCAB_SIZE = 21128

# The official config.json of chinese-roberta-wwm-ext-large (BERT-large).
BERT_CONFIG = {"vocab_size": VOCAB_SIZE, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
               "intermediate_size": 4096, "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2,
               "layer_norm_eps": 1e-12, "initializer_range": 0.02, "pad_token_id": 0,
               "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}  # fmt: skip
BERT_TINY = {"num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 128}

SPECIAL_TOKENS = ["[PAD]", *(f"[unused{i}]" for i in range(1, 100)), "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHINESE_PUNCTUATION = "，。！？、：；“”‘’（）《》【】…—·～"
FIRST_IDEOGRAPH = 0x4E00


def vocabulary() -> list[str]:
    """The 21128 WordPiece entries (see the module's note)."""
    ascii_tokens = [chr(c) for c in range(33, 127) if not chr(c).isupper()]  # the tokenizer lower-cases first
    tokens = SPECIAL_TOKENS + ascii_tokens + list(CHINESE_PUNCTUATION)
    tokens += [chr(FIRST_IDEOGRAPH + i) for i in range(VOCAB_SIZE - len(tokens))]
    return tokens


def write_demo_bert(folder: Path, size: str, seed: int) -> Path:
    """Write the random BERT folder at ``folder`` / FOLDER_NAME (inside the caller's staging folder)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    target = folder / FOLDER_NAME
    target.mkdir(parents=True)
    vocab = target / "vocab.txt"
    vocab.write_text("".join(f"{token}\n" for token in vocabulary()), encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, tokenize_chinese_chars=True)
    tokenizer.save_pretrained(str(target))
    config = BertConfig(**{**BERT_CONFIG, **(BERT_TINY if size == "tiny" else {})}, architectures=["BertForMaskedLM"])
    torch.manual_seed(seed)
    model = BertForMaskedLM(config).eval()
    with torch.no_grad():  # LayerNorm affine made to matter, as in the other demo weights
        for name, tensor in model.named_parameters():
            if "LayerNorm" in name:
                tensor.add_(0.1 * torch.randn_like(tensor))
    model.save_pretrained(str(target))
    return target
