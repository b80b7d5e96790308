# One entry point for people and CI.  Every target builds the venv (and the Cython
# extensions) first, so each works from a fresh clone with only python3 >= 3.11 and a C compiler.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SOURCES := pyproject.toml setup.py $(wildcard src/smsdk/*.pyx src/smsdk/*.pxi src/smsdk/*.pxd)

.PHONY: install demo typecheck test test-compiled test-pure bench clean

$(STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,harness]'
	$(PY) -c "import smsdk._codec, smsdk._split, smsdk._msgid"   # the compiled modules must have been built
	touch $(STAMP)

install: $(STAMP)

# The main job on embedded defaults.
demo: $(STAMP)
	$(VENV)/bin/smsdk demo

# mypy over smsdk and smsdk_harness (settings in pyproject.toml).  The harness directory is the
# package smsdk_harness only through setuptools' package-dir, so mypy is shown it under that
# name through a symlink.
typecheck: $(STAMP)
	mkdir -p build/typecheck
	ln -sfn ../../harness build/typecheck/smsdk_harness
	$(VENV)/bin/mypy

# Types first, then the whole suite twice: compiled (required, never a quiet fallback) and pure-Python twins;
# then every benchmark once as a smoke test (timings are not asserted).
test: typecheck test-compiled test-pure
	$(PY) -m pytest -q -p no:cacheprovider benchmarks --benchmark-disable

test-compiled: $(STAMP)
	SMSDK_REQUIRE_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider tests

test-pure: $(STAMP)
	SMSDK_NO_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops,rounds

clean:
	rm -rf $(VENV) build src/*.egg-info src/smsdk/*.so src/smsdk/*.c .hypothesis .benchmarks
