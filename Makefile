# Aryz — the two commands a newcomer needs are `make demo` and `make test`.
# Both bootstrap .venv from the hash-pinned lock (requirements-dev.lock).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed
PIP    := PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip

.PHONY: demo test test-fast lint typecheck bench prove lock messages clean desk-bundle

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The independent envelope reader (libsodium-wrappers from npm, integrity-pinned lock).
$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund --ignore-scripts
	touch $@

demo: $(STAMP)
	$(BIN)/aryz demo --data-dir demo-data --port 8080

test: $(STAMP) $(NODE_STAMP) lint typecheck
	$(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -x -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_intake
	$(BIN)/python -m tests.benchmarks.bench_desk
	$(BIN)/python -m tests.benchmarks.bench_desk_backup
	$(BIN)/python -m tests.benchmarks.bench_tor
	$(BIN)/python -m tests.benchmarks.bench_urgent
	$(BIN)/python -m tests.benchmarks.bench_ceiling
	$(BIN)/python -m tests.benchmarks.bench_anchors

# The long proofs (fuzzing, faults, load): a summary table; see tests/prove/__init__.py.
prove: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m tests.prove

# Regenerate the locks (needs pip-tools in some environment: PIPCOMPILE=path/to/pip-compile),
# then requirements-desk.lock from requirements.lock (the desk extra and what it needs).
PIPCOMPILE ?= pip-compile
lock:
	$(PIPCOMPILE) -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --extra build --extra desk -o requirements.lock pyproject.toml
	$(PIPCOMPILE) -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --extra build --extra desk --extra dev -o requirements-dev.lock pyproject.toml
	$(BIN)/python deploy/desk/make_bundle.py --write-lock  # the desk's own lock

# The air-gapped desk's offline install kit for a USB stick (README "Offline install"):
# wheels checked against requirements-desk.lock, aryz's own wheel, install.sh, SHA256SUMS.
DESK_BUNDLE ?= desk-bundle
desk-bundle: $(STAMP)
	$(BIN)/python deploy/desk/make_bundle.py $(DESK_BUNDLE)

# Re-extract translatable strings and merge them into every catalog.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
	  --project Aryz --version 1 -o service/common/i18n/messages.pot .
	$(BIN)/pybabel update -i service/common/i18n/messages.pot -d service/common/i18n/locale -D messages \
	  --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) tests/node/node_modules .mypy_cache .ruff_cache .pytest_cache
