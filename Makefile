# 网上警务室 — `make run` serves the demo, `make test` runs the whole suite.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PORTAL  := $(VENV)/bin/portal
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test
HOST    ?= 127.0.0.1
PORT    ?= 5000
export HOST PORT

.PHONY: run test install install-test translations extract-messages migrate seed worker lint bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	touch $@

$(TSTAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TSTAMP)

# Compiled catalogues are part of the build (never committed).
translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d portal/translations

extract-messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

migrate: $(STAMP)
	$(PORTAL) db upgrade

seed: migrate
	$(PORTAL) seed-demo

run: translations seed
	$(PORTAL) serve

worker: $(STAMP)
	$(PORTAL) worker

test: $(TSTAMP)
	$(VENV)/bin/pybabel compile -d portal/translations
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(TSTAMP)
	$(VENV)/bin/ruff check portal tests bench

bench: $(TSTAMP)
	$(PY) bench/bench_foundation.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
