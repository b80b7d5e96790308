# One entry point for people and CI.  Every target builds the venv (and the Cython
# extensions) first, so each works from a fresh clone with only python3 >= 3.11 and a C compiler.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SOURCES := pyproject.toml setup.py $(wildcard src/smsdk/*.pyx src/smsdk/*.pxi src/smsdk/*.pxd)

.PHONY: install demo test test-compiled test-pure bench clean

$(STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	$(PY) -c "import smsdk._codec, smsdk._split"   # the compiled modules must have been built
	touch $(STAMP)

install: $(STAMP)

# The main job on embedded defaults.
demo: $(STAMP)
	$(VENV)/bin/smsdk plan --signature '【示例科技】' '尊敬的客户，您好！您本月的话费账单已出，总计消费128.50元，其中通话费56.00元、流量费42.50元、短信及增值业务费30.00元。如有疑问请回复本短信或拨打客服热线，感谢您的支持。'

# The whole suite twice: compiled (required, never a quiet fallback) and pure-Python twins;
# then every benchmark once as a smoke test (timings are not asserted).
test: test-compiled test-pure
	$(PY) -m pytest -q -p no:cacheprovider benchmarks --benchmark-disable

test-compiled: $(STAMP)
	SMSDK_REQUIRE_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider tests

test-pure: $(STAMP)
	SMSDK_NO_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops,rounds

clean:
	rm -rf $(VENV) build src/*.egg-info src/smsdk/*.so src/smsdk/*.c .hypothesis .benchmarks
