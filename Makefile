# Upstream — set-up and checks. Needs Python >= 3.10, git and make; everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.8
# nbgrader's gradebook runs `alembic` from PATH: the environment's tools come first for every recipe.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install lab test lint lock clean

install: $(STAMP)

# One virtual environment with exactly the locked versions, the course installed in it editable.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

# JupyterLab fetches news and queries PyPI for extensions by default: both off, so the course
# calls no outside host (offline-first and private).
PRIVATE_LAB := --LabApp.news_url=None \
	--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	--LabApp.extension_manager=readonly

## Open the course in JupyterLab, at the orientation module.
lab: install
	$(BIN)/jupyter lab --ServerApp.root_dir=course $(PRIVATE_LAB) $(LAB_ARGS) \
		$(if $(filter 0,$(shell id -u)),--allow-root,) course/modules/00-orientation.ipynb

## Run the whole test suite (unit tests, every notebook, nbgrader, browser and hub tests).
test: install
	if [ -f deploy/package-lock.json ]; then npm ci --prefix deploy --no-audit --no-fund --loglevel=error; fi
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

## Re-resolve the lock after editing pyproject.toml.
lock:
	test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv==$(UV_VERSION))
	$(BIN)/uv pip compile --quiet --python-version 3.10 --universal requirements.in -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
