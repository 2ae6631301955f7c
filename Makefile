# Two commands: `make run` (set up and start the kiosk) and `make test` (set up and test).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -y -q

# Debian libraries Qt needs at run time (xcb for a desktop session, EGL/GL for Qt Quick;
# libpulse0 because the Qt Virtual Keyboard plugin links Qt Multimedia).
QT_RUNTIME_DEBS := libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
	libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core \
	libpulse0
# Real DICOM peers the integration tests talk to, PostgreSQL for the second database, Xvfb and
# xdotool for tests in the real window, dicom3tools to validate what we write, rsyslog as the
# audit trail's syslog collector.
TEST_PEER_DEBS := dcmtk orthanc postgresql xvfb xdotool dicom3tools rsyslog

.PHONY: run test lint typecheck pytest bench fuzz setup debs-run debs-test constraints hooks clean

# Every install is constrained to the versions the tests passed with (constraints.txt).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

setup: $(STAMP)

# Refresh constraints.txt: install the newest versions pyproject.toml allows into a throwaway
# venv and freeze them, keeping the file's comment header. Then `make test` before committing.
constraints:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install -q --upgrade pip && \
	"$$tmp/venv/bin/python" -m pip install -q -e '.[dev]' && \
	{ grep '^#' constraints.txt || true; \
	  "$$tmp/venv/bin/python" -m pip freeze --all --exclude-editable; } > "$$tmp/constraints.txt" && \
	mv "$$tmp/constraints.txt" constraints.txt && echo "constraints.txt refreshed; now: make test"

# Run ruff and mypy from the venv before each commit (.pre-commit-config.yaml).
hooks: setup
	$(BIN)/pre-commit install

# Install missing Debian packages when running as root; otherwise say what is missing.
define ensure_debs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -q >/dev/null && $(APT_GET) install --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages (install them as root):$$missing"; \
	  fi; \
	fi
endef

debs-run:
	$(call ensure_debs,$(QT_RUNTIME_DEBS))

debs-test: debs-run
	$(call ensure_debs,$(TEST_PEER_DEBS))
	@# The orthanc and rsyslog packages may start system services; tests start their own on
	@# free ports.

run: setup debs-run
	$(BIN)/dicom-kiosk db upgrade
	$(BIN)/dicom-kiosk $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup debs-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

bench: setup debs-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench $(BENCH_ARGS)

# Coverage-guided fuzzing (atheris) of every parser of outside bytes, one target at a time;
# findings become tests/fuzz/regressions/ inputs. E.g. FUZZ_ARGS="--target pdu_read --seconds 600".
fuzz: setup
	$(BIN)/python -m tests.fuzz.run $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
