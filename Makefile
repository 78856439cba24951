# onestop — the two commands a new user needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test soak bench setup system-deps clean

# (PYTHONWARNINGS: the build backend's notice about editable installs is not for the user of `make demo`)
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests drive for real (browser page tests). Installed only when missing.
system-deps:
	@bash .ci/system-deps

demo: setup
	$(BIN)/onestop-sim demo

# The suite in 4 pytest-xdist workers, test by test; a file with module-scoped fixtures (a
# browser, a hall) is marked xdist_group and runs on one worker in order. Most tests wait on
# processes, brokers and browsers, so this cuts the wall time on 2 cores from ~32 to under 20
# minutes here. `.venv/bin/pytest tests/x.py` runs serially as usual.
test: setup system-deps
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 4 --dist loadgroup

# The long runs (pytest marker `soak`): a whole simulated campus day, central away longer than the
# broker queues. CI runs them after `make test`, as a step of their own.
soak: setup system-deps
	$(BIN)/pytest -m soak

# Every benchmark in a short form (a few minutes), each ratio compared with the reference table in
# docs/benchmarks.md: exits non-zero, naming the figure, when one is more than 20 % worse.
bench: setup
	$(BIN)/python -m simulators.bench_check

clean:
	rm -rf $(VENV) var
