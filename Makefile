# BuildSeg — setup, tests, demo, lint, package.
# Every target that needs the environment runs `setup` first, so `make test` and
# `make demo` are each the one command a newcomer types on a fresh Debian 12.

VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.buildseg-setup
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := qgis python3-qgis qgis-providers python3-rasterio python3-venv xvfb xauth
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup system-deps test test-engine demo lint package benchmark translations clean

setup: system-deps $(STAMP)

system-deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(APT_PACKAGES); \
	fi
	@# Debian's --noversioncheck breaks /usr/bin/qgis_process: blank it.
	@if grep -q "^QGIS_OPTS=.*noversioncheck" /etc/default/qgis 2>/dev/null; then \
		$(SUDO) sed -i "s/^QGIS_OPTS=.*/QGIS_OPTS=''/" /etc/default/qgis; fi

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	/usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q -c constraints.txt -r requirements.txt -r requirements-dev.txt
	$(PY) -c "import numpy, torch, onnxruntime, cv2, osgeo.gdal, rasterio, qgis.core; assert numpy.__version__ == '1.24.2', numpy.__version__"
	touch $(STAMP)

test: setup
	PATH=$(VENV)/bin:$$PATH $(PY) -m pytest tests -ra --durations=15

test-engine: setup  # the engine alone, no QGIS application (tests marked qgis deselected)
	PATH=$(VENV)/bin:$$PATH $(PY) -m pytest tests -ra -m "not qgis"

demo: setup
	PATH=$(VENV)/bin:$$PATH $(PY) scripts/demo.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit -q -r engine processing_provider ui plugin.py __init__.py -c pyproject.toml

package:
	python3 scripts/package.py

translations: setup
	PATH=$(VENV)/bin:$$PATH $(PY) scripts/update_translations.py

benchmark: setup
	PATH=$(VENV)/bin:$$PATH $(PY) benchmarks/extract_throughput.py

clean:
	rm -rf build dist .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
