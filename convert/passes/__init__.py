"""The conversion's passes, one module per graph, run in this order by ``convert.convert``:

- ``t2s``: the GPT (stateful OpenVINO IR, ONNX for the fallback) and its embedding tables;
- ``sovits``: SoVITS split at the prior into ``sovits_enc`` and ``sovits_dec`` (and the 8-bit ONNX encoder);
- ``voice``: ``ref_enc`` (always) and ``hubert`` (with ``--hubert``), the graphs that enroll a voice;
- ``sv``: ERes2NetV2 (with ``--sv``, v2Pro/v2ProPlus);
- ``bert``: the trimmed chinese-roberta (with ``--bert``) and its tokenizer;
- ``g2pw``: g2pW's INT8 copy and tables (with ``--g2pw``, v2).

Each exposes ``run(ctx)``: it writes its files into the staging folder, records them in ``ctx.graphs`` or
``ctx.tables``, and records its checks in ``ctx.report`` through ``Report.verify``. ``common`` holds what
several of them share.
"""
