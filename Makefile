# The two commands a person needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.amorpha-installed
XVFB   := xvfb-run -a -s "-screen 0 1600x1000x24"
# pytest runs under Xvfb when there is no display (Qt's offscreen platform has no OpenGL).
HEADLESS := $(if $(or $(DISPLAY),$(WAYLAND_DISPLAY)),,$(XVFB))

.PHONY: run test bench sysdeps clean screenshots examples models package

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[test]"
	touch $@

run: $(STAMP)
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "No display found: Amorpha needs a screen; on a headless machine run 'xvfb-run -a make run' (or 'make run' from a desktop session)."; \
	  exit 1; fi
	$(PY) -m amorpha.gui $(ARGS)

sysdeps:
	@bash packaging/debian-deps.sh

test: $(STAMP) sysdeps
	$(PY) -m amorpha.engine.warmup --processes 2
	$(HEADLESS) $(PY) -m pytest -q --durations=15 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pip install -q -e ".[test,bench]"
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

# The README's screenshots, made by the app itself (under Xvfb when there is no display).
screenshots: $(STAMP)
	$(HEADLESS) $(PY) -m amorpha.gui --screenshot resources/screenshots/main-window.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui --color-by coordination --select 0 --screenshot resources/screenshots/coordination.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui --rings primitive --ring-size 8 --screenshot resources/screenshots/rings.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui resources/examples/a-SiO.extxyz --color-by oxidation --screenshot resources/screenshots/a-SiO-oxidation.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui resources/examples/a-SiO.extxyz --color-by oxidation --dock Predict --select 100 --screenshot resources/screenshots/spectra.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui resources/examples/a-SiO.extxyz --spectral-feature edge_energy --dock Predict --screenshot resources/screenshots/edge-energy.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui resources/examples/stishovite.extxyz --spectral-feature training_distance --dock Predict --select 0 --screenshot resources/screenshots/domain.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui resources/examples/Cu-polycrystal.extxyz --color-by grain --screenshot resources/screenshots/polycrystal.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui --diffusion --screenshot resources/screenshots/diffusion.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui --gb-search --screenshot resources/screenshots/gb-search.png --size 1500x950
	$(HEADLESS) $(PY) -m amorpha.gui --dock Diffraction --select 5 --screenshot resources/screenshots/diffraction.png --size 1500x950
	mkdir -p build && $(PY) packaging/synthetic_measured.py build/a-SiO-Si-K-synthetic.msa
	$(HEADLESS) $(PY) -m amorpha.gui resources/examples/a-SiO.extxyz --measured build/a-SiO-Si-K-synthetic.msa --screenshot resources/screenshots/measured.png --size 1500x950

# Rebuild resources/examples/ (File › Examples) with the project's own builders.
examples: $(STAMP)
	$(PY) packaging/build_examples.py $(ARGS)

# Rebuild resources/models/: the built-in Si K and O K surrogates (the project's own xTB calculator)
# and the Cu per-atom EMT energy model (ASE's EMT).
models: $(STAMP)
	$(PY) packaging/train_models.py $(ARGS)
	$(PY) packaging/train_models.py --element O --calls 100 --test 40
	$(PY) packaging/train_gb_energy_model.py

# A one-folder app in dist/amorpha/ (PyInstaller); see README "Installing the packaged app".
package: $(STAMP)
	$(PY) -m pip install -q "pyinstaller>=6.0"
	rm -rf build/pkgroot && mkdir -p build/pkgroot/amorpha
	ln -s $(CURDIR)/engine build/pkgroot/amorpha/engine
	ln -s $(CURDIR)/gui build/pkgroot/amorpha/gui
	ln -s $(CURDIR)/resources build/pkgroot/amorpha/resources
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/amorpha.spec
	cp packaging/amorpha.desktop resources/icons/amorpha.png packaging/install-desktop.sh dist/amorpha/
	@# smoke check: the built app opens the default example and writes a screenshot
	$(HEADLESS) dist/amorpha/amorpha --screenshot build/package-check.png --size 1300x850
	test -s build/package-check.png
	@echo "built dist/amorpha/ (run dist/amorpha/amorpha; dist/amorpha/install-desktop.sh adds it to the menu)"
