# gsv-edge: every target sets itself up (venv, packages) on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: setup test demo bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[convert,dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check edge convert runtime tests

demo: setup
	$(BIN)/gsv-edge demo-model --version v2 --seed 0 -o $(DEMO_DIR)/model --force
	$(BIN)/gsv-edge inspect $(DEMO_DIR)/model/gpt.ckpt $(DEMO_DIR)/model/sovits.pth

bench: setup
	test -f $(DEMO_DIR)/model/gpt.ckpt || $(BIN)/gsv-edge demo-model --version v2 --seed 0 -o $(DEMO_DIR)/model
	$(BIN)/gsv-edge convert --gpt $(DEMO_DIR)/model/gpt.ckpt --sovits $(DEMO_DIR)/model/sovits.pth \
		--profile laptop -o $(DEMO_DIR)/pack-laptop --force
	du -sh $(DEMO_DIR)/pack-laptop/*.bin $(DEMO_DIR)/pack-laptop/*.onnx
	$(BIN)/gsv-edge bench-t2s $(DEMO_DIR)/model/gpt.ckpt
	$(BIN)/gsv-edge bench --pack $(DEMO_DIR)/pack-laptop

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
