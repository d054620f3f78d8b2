# `make serve` and `make test` need only Python 3.11+ and make: both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv serve test lint bench package lock clean compat compat-clean

# The Lambda's locks first (every hash checked; a lock with hashes cannot be combined with
# unhashed requirements in one pip call): the function zip's, then the provenance layer's
# (the local stack and the tests run everything in one process). Then the tools, the
# client and the stack.
$(STAMP): requirements.txt requirements-provenance.txt requirements-dev.txt pyproject.toml client/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wharf needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-provenance.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e ./client -e .
	touch $(STAMP)

venv: $(STAMP)

serve: venv
	$(BIN)/wharf-serve

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint infra/template.yaml
	$(BIN)/mypy  # the files and settings are in pyproject.toml [tool.mypy]

# The in-process tiers (CPU-bound) on two workers; then the e2e tests on their own, one
# local stack, as they were written to run: some time a client against a signal, and a
# CPU-bound worker beside them makes those races unfair. Exit status 5 is "no test
# selected" (PYTEST_ARGS naming only one kind).
PYTEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not e2e" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS) || [ $$? -eq 5 ]

bench: venv
	$(BIN)/python -m bench

# Real releases from PyPI through both upload doors and pip/uv (needs the registry; not
# part of `make test`). COMPAT_ARGS passes options, e.g. COMPAT_ARGS="--group old".
compat: venv
	$(BIN)/python -m compat $(COMPAT_ARGS)

# The download cache (under the system temp dir) of `make compat`.
compat-clean:
	$(PYTHON) -m compat clean

# The Lambda's dependencies: requirements.in (by hand) -> requirements.txt (the lock, with
# hashes, what `chalice package` vendors into the function zip), and
# requirements-provenance.in -> requirements-provenance.txt (the provenance layer), resolved
# with the first lock as a constraint so that a shared package has one version. Pins already
# in a lock are kept; a merge that changed a .in file reruns this. `make lock
# LOCK_ARGS=--upgrade` takes the newest of all. Resolved for the Lambda's Python and
# platform, not this machine's.
LOCK_ARGS ?=
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux2014 --custom-compile-command "make lock"
lock: venv
	$(LOCK) requirements.in $(LOCK_ARGS) -o requirements.txt
	$(LOCK) requirements-provenance.in --constraint requirements.txt $(LOCK_ARGS) \
		-o requirements-provenance.txt

# chalice package, then the modules `import app` loads compiled to .pyc (unchecked-hash, so
# Lambda's read-only /var/task uses them as shipped): a cold `import app` without compiling.
# Beside it, the provenance layer (requirements-provenance.txt minus what the zip holds),
# to publish as a layer version (README, "Deploy").
package: venv
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $${STAGE:-dev} build/package
	$(BIN)/python -m wharf_stack.lambda_package build/package/deployment.zip \
		--stage $${STAGE:-dev} --layer build/package/provenance-layer.zip

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache
