"""A synthetic G2PWModel folder for tests: upstream's file layout and the real model's inputs and output, with a
tiny ONNX graph whose answers the tests steer.

The graph scores each polyphone query as ``CHAR_SCORES[char_id] + NEXT_SCORES[token after the polyphone]`` and
returns upstream g2pW's weighted softmax: ``exp(logits - max) * phoneme_mask``, normalised. Like the real model it
reads the text of query n from row ``min(n, batch - 1)`` of ``input_ids`` (one text shared by many queries, or one
text per query).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# (character, bopomofo) as in upstream's POLYPHONIC_CHARS.txt: traditional characters, bopomofo with a tone digit.
POLYPHONIC = [
    ("行", "ㄒㄧㄥ2"),
    ("行", "ㄏㄤ2"),
    ("長", "ㄔㄤ2"),
    ("長", "ㄓㄤ3"),
    ("重", "ㄓㄨㄥ4"),
    ("重", "ㄔㄨㄥ2"),
    ("一", "ㄧ1"),  # upstream never asks the model about 一 (NOT_POLYPHONIC)
    ("一", "ㄧ4"),
]
# 好 deliberately differs from pypinyin (hao3) to show the table wins; 似 is ignored by upstream (NOT_MONOPHONIC).
MONOPHONIC = [("好", "ㄏㄠ4"), ("似", "ㄙ4")]
BOPOMOFO = {"ㄒㄧㄥ": "xing", "ㄏㄤ": "hang", "ㄔㄤ": "chang", "ㄓㄤ": "zhang", "ㄓㄨㄥ": "zhong", "ㄔㄨㄥ": "chong",
            "ㄧ": "yi", "ㄏㄠ": "hao", "ㄙ": "si"}  # fmt: skip
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB_CHARS = ",.!?…-長长城很银銀行远遠者小院儿兒你好一个個似的重要慶庆大为為了着著急是在这這里裡说說"
# What the model prefers, by character: 長 likes ㄒㄧㄥ2 best, a label 長 may not take (the mask must remove it).
CHAR_PREFERENCES = {
    "行": {"ㄒㄧㄥ2": 5.0, "ㄏㄤ2": 3.0},
    "長": {"ㄒㄧㄥ2": 9.0, "ㄓㄤ3": 5.0, "ㄔㄤ2": 3.0},
    "重": {"ㄔㄨㄥ2": 5.0, "ㄓㄨㄥ4": 3.0},
    "一": {"ㄧ4": 5.0},
}
# ... and by the token right after the polyphone: 長 before 城 reads chang2, 行 before 長 reads hang2.
NEXT_PREFERENCES = {"城": {"ㄔㄤ2": 4.0}, "長": {"ㄏㄤ2": 4.0}}
CONFIG = """# g2pW config (synthetic); parsed, never run
root = './cpp_dataset/'
manual_seed = 1313
model_source = 'bert-base-chinese'
polyphonic_chars_path = root + 'POLYPHONIC_CHARS.txt'
window_size = 32
use_mask = True
use_conditional = True
open('EXECUTED', 'w')
"""


def labels() -> list[str]:
    return sorted({bopomofo for _, bopomofo in POLYPHONIC})


def chars() -> list[str]:
    return sorted({char for char, _ in POLYPHONIC})


def write_tokenizer(path: Path) -> Path:
    """A BERT WordPiece tokenizer.json (lower-casing, CJK characters split), as chinese-roberta's is made."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {token: i for i, token in enumerate(SPECIALS + list(dict.fromkeys(VOCAB_CHARS)))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer.save(str(path))
    return path


def _tables(vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    names, ids = labels(), {c: i for i, c in enumerate(chars())}
    char_scores = np.zeros((len(ids), len(names)), np.float32)
    for char, scores in CHAR_PREFERENCES.items():
        for label, score in scores.items():
            char_scores[ids[char], names.index(label)] = score
    next_scores = np.zeros((len(vocab), len(names)), np.float32)
    for token, scores in NEXT_PREFERENCES.items():
        for label, score in scores.items():
            next_scores[vocab[token], names.index(label)] = score
    return char_scores, next_scores


def write_model(path: Path, vocab: dict[str, int]) -> Path:
    """The synthetic g2pW.onnx: real input names and dtypes, output ``probs`` [queries, labels]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    char_scores, next_scores = _tables(vocab)
    n_labels = char_scores.shape[1]
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"])
            for n in ("input_ids", "token_type_ids", "attention_mask")]  # fmt: skip
    inputs = [
        *ints,
        helper.make_tensor_value_info("phoneme_mask", TensorProto.FLOAT, ["queries", n_labels]),
        helper.make_tensor_value_info("char_ids", TensorProto.INT64, ["queries"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["queries"]),
    ]
    output = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["queries", n_labels])
    consts = {
        "char_scores": char_scores,
        "one_hot": np.eye(len(vocab), dtype=np.float32),
        "next_scores": next_scores,  # a MatMul weight, so that dynamic INT8 quantization has something to do
        "zero": np.asarray(0, np.int64),
        "one": np.asarray(1, np.int64),
        "axis1": np.asarray([1], np.int64),
        "nothing": np.asarray(0.0, np.float32),
    }
    node = helper.make_node
    nodes = [
        node("Shape", ["input_ids"], ["ids_shape"]),
        node("Gather", ["ids_shape", "zero"], ["batch"], axis=0),
        node("Sub", ["batch", "one"], ["last_row"]),
        node("Shape", ["char_ids"], ["queries_shape"]),
        node("Gather", ["queries_shape", "zero"], ["queries"], axis=0),
        node("Range", ["zero", "queries", "one"], ["query_rows"]),
        node("Min", ["query_rows", "last_row"], ["rows"]),
        node("Add", ["position_ids", "one"], ["next_positions"]),
        node("Unsqueeze", ["rows", "axis1"], ["rows_2d"]),
        node("Unsqueeze", ["next_positions", "axis1"], ["next_2d"]),
        node("Concat", ["rows_2d", "next_2d"], ["where"], axis=1),
        node("GatherND", ["input_ids", "where"], ["next_tokens"]),
        node("Gather", ["one_hot", "next_tokens"], ["next_one_hot"], axis=0),
        node("MatMul", ["next_one_hot", "next_scores"], ["context"]),
        node("Gather", ["char_scores", "char_ids"], ["prior"], axis=0),
        node("Add", ["prior", "context"], ["scores"]),
        # token_type_ids and attention_mask take part (times zero), as inputs of the real model do
        node("Add", ["token_type_ids", "attention_mask"], ["unused"]),
        node("ReduceSum", ["unused"], ["unused_sum"], keepdims=0),
        node("Cast", ["unused_sum"], ["unused_float"], to=TensorProto.FLOAT),
        node("Mul", ["unused_float", "nothing"], ["zero_float"]),
        node("Add", ["scores", "zero_float"], ["logits"]),
        node("ReduceMax", ["logits"], ["top"], axes=[1], keepdims=1),
        node("Sub", ["logits", "top"], ["shifted"]),
        node("Exp", ["shifted"], ["exp"]),
        node("Mul", ["exp", "phoneme_mask"], ["weighted"]),
        node("ReduceSum", ["weighted", "axis1"], ["norm"], keepdims=1),
        node("Div", ["weighted", "norm"], ["probs"]),
    ]
    graph = helper.make_graph(
        nodes, "g2pw_synthetic", inputs, [output], [numpy_helper.from_array(v, k) for k, v in consts.items()]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_folder(folder: Path, tokenizer: bool = True, dictionary: str | None = None) -> Path:
    """A G2PWModel folder as upstream downloads it (plus tokenizer.json and a polyphonic.rep when asked)."""
    from tokenizers import Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "POLYPHONIC_CHARS.txt").write_text("\n".join(f"{c}\t{b}" for c, b in POLYPHONIC) + "\n", "utf-8")
    (folder / "MONOPHONIC_CHARS.txt").write_text("\n".join(f"{c}\t{b}" for c, b in MONOPHONIC) + "\n", "utf-8")
    (folder / "bopomofo_to_pinyin_wo_tune_dict.json").write_text(json.dumps(BOPOMOFO, ensure_ascii=False), "utf-8")
    (folder / "char_bopomofo_dict.json").write_text("{}", "utf-8")
    (folder / "config.py").write_text(CONFIG, "utf-8")
    token_file = write_tokenizer(folder / "tokenizer.json")
    write_model(folder / "g2pW.onnx", Tokenizer.from_file(str(token_file)).get_vocab())
    if not tokenizer:
        token_file.unlink()
    if dictionary is not None:
        (folder / "polyphonic.rep").write_text(dictionary, "utf-8")
    return folder
