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

# The suite, one test after another. (`.venv/bin/pytest -n 4 --dist loadgroup` runs it in 4
# pytest-xdist workers — files with module-scoped fixtures are marked xdist_group and stay on
# one worker — but on this 2-core machine the load made timing-sensitive process tests fail
# and it gained little: 25 min against 32; docs/architecture.md, Tests.)
test: setup system-deps
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

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
