# Set-up and the two commands from the README: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-slow test-arm check-avx2 bench results results-page lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# package data is declared, so setuptools has nothing to report; the one note it still prints for
	# every editable install of a package-dir mapping ("Editable installation ... folders with the same
	# name", an InformationOnly UserWarning) is silenced here and nowhere else
	PYTHONWARNINGS=ignore::UserWarning $(PY) -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/edgeconv pipeline --out out/demo --force

# ruff and every test but the `slow` ones: under 8 minutes on 2 cores (6.4 min on an idle Intel Xeon, 9.3 min when its
# host was busy later the same day, 2026-12-05; the slow ones ~4 min more)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "not slow"

# the `slow` tests (two-node Ray clusters, DDP, a fresh runtime-only venv, the deployed ERF, INT8 budgets, the 4K
# peak memory, the compare harness end to end, pipeline == quantize bytes, QAT runs, the measured lowering in export,
# the pipeline main job end to end, a video in a Ray folder run):
# CI runs them
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# the runtime-only install on aarch64 under qemu-user (Debian arm64 root), checked against x86; needs root
test-arm: $(STAMP)
	tools/arm_check/run.sh

# x86 without VNNI on any x86: ONNX Runtime under qemu-x86_64 -cpu Haswell, oneDNN capped at AVX2
check-avx2: $(STAMP)
	tools/avx2_check.sh

bench: $(STAMP)
	$(PY) benchmarks/shift_ops.py

# the research harness: every variant x 3 seeds, ~50 CPU minutes on 2 cores; writes docs/RESULTS.md
DTD10_VARIANTS = plain,jitter-random,jitter-channel,jitter-subpixel,jitter-learnable,shiftwise,shiftwise-diagonal,shiftwise-rotational,large-kernel
results: $(STAMP)  # DTD10: 9 variants x 5 seeds (~3 CPU hours: every net a Ray task on this machine's cores, then the page)
	$(VENV)/bin/edgeconv compare --tasks dtd10 --seeds 5 --cls-variants $(DTD10_VARIANTS) --cls-steps 150 --cls-batch 32 --crop 96 --load-size 160 --threads 1 --out runs/dtd10 --results docs/RESULTS.md --ray

# the page alone, from the stored records in docs/results (no training; reproduces docs/RESULTS.md byte for byte)
results-page: $(STAMP)
	$(VENV)/bin/edgeconv compare --tasks dtd10 --seeds 5 --cls-variants $(DTD10_VARIANTS) --cls-steps 150 --cls-batch 32 --crop 96 --load-size 160 --out runs/dtd10 --results docs/RESULTS.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
