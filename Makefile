# Each target installs what it needs into .venv first (idempotent, keyed on pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint unit bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's chromium through Playwright (never `playwright install`).
browser:
	test -x /usr/bin/chromium || (command -v apt-get >/dev/null && \
		(apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)))

run: install
	$(BIN)/gateway up

lint: install
	$(BIN)/ruff check gateway carrier_adapters sandbox tests bench
	$(BIN)/ruff format --check gateway carrier_adapters sandbox tests bench
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest -q

# Every benchmark runs even when an earlier one misses its target; the exit status is the first failure's.
bench: install
	$(BIN)/python -m bench.one_tap; one_tap=$$?; $(BIN)/python -m bench.identity; identity=$$?; \
	$(BIN)/python -m bench.push; push=$$?; \
	for status in $$one_tap $$identity $$push; do [ $$status -eq 0 ] || exit $$status; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
