# Upstream — set-up and checks. Needs Python >= 3.10, git and make; everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.8
# nbgrader's gradebook runs `alembic` from PATH: the environment's tools come first for every recipe.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install runtime lab workspace test lint lock clean notebooks-check notebooks-format release-notebooks trainee-branch

install: $(STAMP)

# One virtual environment with exactly the locked versions, the course installed in it editable.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

# The environment a hub's servers run from (deploy/README.md, step 1): the locked versions and the
# course installed as a package, not editable, so a trainee's kernel finds no checkout (no exercise
# sources, no tools, no .git); and its own copy of the Jupyter settings (deploy/jupyter).
RUNTIME ?= /opt/upstream-runtime
runtime: install
	test -x $(RUNTIME)/bin/python || $(PYTHON) -m venv $(RUNTIME)
	grep -v '^-e ' requirements.lock > $(RUNTIME)/requirements.txt
	$(BIN)/uv pip sync --quiet --python $(RUNTIME)/bin/python $(RUNTIME)/requirements.txt
	$(BIN)/uv pip install --quiet --python $(RUNTIME)/bin/python --no-deps --no-build-isolation \
		--reinstall-package upstream-course .
	rm -rf $(RUNTIME)/etc/upstream-jupyter && mkdir -p $(RUNTIME)/etc
	cp -R deploy/jupyter $(RUNTIME)/etc/upstream-jupyter

# JupyterLab fetches news and queries PyPI for extensions by default: both off, so the course
# calls no outside host (offline-first and private).
PRIVATE_LAB := --LabApp.news_url=None \
	--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	--LabApp.extension_manager=readonly

# The trainee's copy of the course (git-ignored): autosave and the trainee's work never touch a
# tracked file, and a course update keeps every notebook the trainee changed.
WORKSPACE ?= workspace
# The trainee's JupyterLab: no nbgrader authoring or formgrader, no news, no update check; working
# alone, no Nbgrader menu either (there is no exchange to list assignments from).
TRAINEE_CONFIG := JUPYTER_CONFIG_PATH=$(CURDIR)/deploy/jupyter/selfstudy:$(CURDIR)/deploy/jupyter/trainee:$(CURDIR)/deploy/jupyter/common

## Open the course in JupyterLab, at the orientation module.
lab: workspace
	$(TRAINEE_CONFIG) $(BIN)/python -m course.serve lab --ServerApp.root_dir=$(WORKSPACE) $(PRIVATE_LAB) \
		--LabApp.default_url=/lab/tree/modules/00-orientation.ipynb $(LAB_ARGS) \
		$(if $(filter 0,$(shell id -u)),--allow-root,)

## Copy (or update) the trainee's material into $(WORKSPACE)/, keeping the trainee's edits.
workspace: install
	$(BIN)/python -m course workspace $(WORKSPACE)

## Run the whole test suite (unit tests, every notebook, nbgrader, browser and hub tests).
test: install
	if [ -f deploy/package-lock.json ]; then npm ci --prefix deploy --no-audit --no-fund --loglevel=error; fi
	$(BIN)/ruff check .
	$(BIN)/python -m tools.notebooks lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python -m tools.notebooks lint
	$(BIN)/python -m tools.notebooks check

## Notebook sources (MyST Markdown): check or rewrite their canonical form.
notebooks-check: install
	$(BIN)/python -m tools.notebooks check
notebooks-format: install
	$(BIN)/python -m tools.notebooks format

## Regenerate the committed student versions (course/exercises/release/) after editing a source.
release-notebooks: install
	$(BIN)/python -m tools.notebooks release

## Commit the trainee distribution as the `trainee` branch (then: git push origin trainee).
trainee-branch: install
	$(BIN)/python -m tools.trainee_branch

## Re-resolve the lock after editing pyproject.toml.
lock:
	test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv==$(UV_VERSION))
	$(BIN)/uv pip compile --quiet --python-version 3.10 --universal requirements.in -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache

## The fast lane, in under a minute: ruff and every test not marked slow, browser or hub.
## (`make test` still runs everything.)
.PHONY: check
check: install
	$(BIN)/ruff check .
	$(BIN)/python -m tools.notebooks lint
	$(BIN)/python -m pytest -n 2 -q -m "not slow and not browser and not hub" $(PYTEST_ARGS)

## Maintainer tools (tools/, never installed with the course): rebuild what the course ships.
.PHONY: rehash scenario vendor world-outlines

## Rewrite the dataset manifest's hashes after editing a file in course/datasets on purpose.
rehash: install
	$(BIN)/python -m tools.rehash

## Regenerate the fictional scenario's files (byte for byte the same unless the generator changed).
scenario: install
	$(BIN)/python -m tools.scenario

## Rebuild the vendored Leaflet assets from npm (pinned versions, integrity-checked).
vendor: install
	$(BIN)/python -m tools.vendor

## Rebuild course/datasets/world_outlines.geojson from npm, then rehash the manifest.
world-outlines: install
	$(BIN)/python -m tools.world_outlines
	$(BIN)/python -m tools.rehash
