"""Trainees get the course, never the answer keys: every channel a trainee receives is checked.

The channels: the workspace `make lab` serves (walked through JupyterLab's contents API), the
`trainee` branch nbgitpuller pulls, the hub image's build context (as its .dockerignore leaves
it), and the built wheel and sdist. Each is searched for the text of every solution and hidden
test of every exercise source (the lines the release must not hold, as `grading release` finds
them), nbgrader's markers, and the instructors' answer keys.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from functools import cache
from pathlib import Path

import nbclient
import nbformat
import pytest

from course import notebook_files, syllabus, workspace
from grading import release
from tests.helpers.lab_server import running_lab
from tests.helpers.paths import ROOT

MARKERS = (*release.SOLUTION, *release.HIDDEN)


LONG_LINE = 40  # a solution or hidden-test line this long is distinctive on its own
WINDOW = 3      # shorter lines count when this many follow each other as in the source


@cache
def secret_lines(kind: str = "") -> tuple[str, ...]:
    """The solution (kind 'solution') or hidden-test ('hidden test') lines, or both (''), of
    every exercise source that its release omits."""
    found = set()
    for exercise in syllabus.exercises():
        for what, lines in release.secret_lines(notebook_files.read(exercise.notebook)).items():
            if kind in ("", what):
                found |= set(lines)
    return tuple(sorted(found))


@cache
def public_source_lines() -> tuple[str, ...]:
    """The lines of the exercise sources that are no secret: what the releases show."""
    secret = set(secret_lines())
    return tuple(sorted({line.strip() for exercise in syllabus.exercises()
                         for cell in notebook_files.read(exercise.notebook).cells
                         for line in cell.source.splitlines() if line.strip() not in secret}))


@cache
def secret_fingerprints(kind: str = "") -> tuple[str, ...]:
    """Distinctive pieces of the secret text: long lines, and runs of WINDOW consecutive lines
    of a solution or hidden block (generic code such as ``rows = []`` alone proves nothing)."""
    secret = set(secret_lines(kind))
    public = public_source_lines()
    prints = {line for line in secret if len(line) >= LONG_LINE
              and not any(line in text for text in public)}  # part of a public line: no secret
    for exercise in syllabus.exercises():
        for cell in notebook_files.read(exercise.notebook).cells:
            lines = [x.strip() for x in cell.source.splitlines() if x.strip()]
            for i in range(len(lines) - WINDOW + 1):
                window = lines[i:i + WINDOW]
                if all(x in secret for x in window):
                    prints.add("\n".join(window))
    return tuple(sorted(prints))


def test_the_sources_hold_many_secret_pieces():
    assert len(secret_fingerprints("solution")) > 30
    assert len(secret_fingerprints("hidden test")) > 30


def leaks(text: str, *, markers: bool = True, kind: str = "", notebook: bool = False) -> list[str]:
    """The secret pieces (and, with markers, nbgrader's markers) found in ``text``; for a
    ``notebook`` (its .ipynb JSON) also every code-cell line equal to a secret line."""
    scanned = f"{text}\n{notebook_text(text)}" if notebook else text
    flat = "\n".join(x.strip() for x in scanned.replace("\\n", "\n").splitlines() if x.strip())
    found = [piece for piece in secret_fingerprints(kind) if piece in flat]
    if notebook:
        found += code_lines_equal_to_secret_lines(text, kind)
    if markers:
        found += [m for m in MARKERS if m in text]
    return found


def _joined(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def notebook_text(notebook_json: str) -> str:
    """The cells' sources and text outputs of a notebook, decoded: in its JSON every quote and
    backslash is escaped, so a secret line such as ``x = rows["value"]`` is not found there."""
    parts = []
    for cell in json.loads(notebook_json)["cells"]:
        parts.append(_joined(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append(_joined(output.get("text", "")))
            parts += [_joined(v) for v in output.get("data", {}).values() if isinstance(v, (str, list))]
    return "\n".join(parts)


def code_lines_equal_to_secret_lines(notebook_json: str, kind: str = "") -> list[str]:
    """The lines of the notebook's code cells that are, whole, a secret line. A short answer
    (``who_pays = "government"``) is no fingerprint in free text, but a code cell holding
    exactly a model solution's line gives the answer away. Secret lines that also appear in
    the release are not secret (``grading.release.secret_lines`` leaves them out)."""
    secret = set(secret_lines(kind))
    found = []
    for cell in json.loads(notebook_json)["cells"]:
        if cell["cell_type"] == "code":
            found += [line.strip() for line in _joined(cell["source"]).splitlines()
                      if line.strip() in secret]
    return found


def package_leaks(name: str, text: str) -> list[str]:
    """Leaks in a file of the package or image. The package's Python code is the course's
    published toolkit (Module 1 draws its charts with ``course.warning_signs.factor_counts``; an
    analyst task asks trainees to rebuild such a function): it may resemble a model solution,
    but must hold no hidden test. Every other file (notebooks, text, data) holds neither."""
    kind = "hidden test" if name.endswith(".py") else ""
    return leaks(text, markers=False, kind=kind, notebook=name.endswith(".ipynb"))


def is_source_path(path: str) -> bool:
    return "exercises/source" in path or path.startswith(("tools/", "tests/", ".git/"))


# ---- the material itself -------------------------------------------------------------------


def test_the_check_finds_a_solution_line():
    """The scan is not vacuous: a source's own text is flagged."""
    source = syllabus.exercises()[0].notebook.read_text(encoding="utf-8")
    assert leaks(source)


@pytest.mark.slow  # releases all four exercises with nbgrader: about 30 s
def test_committed_student_versions_equal_a_fresh_release(tmp_path):
    from tools import notebooks

    notebooks.release(tmp_path / "release")
    fresh = {p.relative_to(tmp_path / "release").as_posix(): p.read_bytes()
             for p in (tmp_path / "release").rglob("*") if p.is_file()}
    committed = {p.relative_to(notebooks.RELEASE_DIR).as_posix(): p.read_bytes()
                 for p in notebooks.RELEASE_DIR.rglob("*") if p.is_file()}
    assert sorted(committed) == sorted(fresh), "run `make release-notebooks`"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"course/exercises/release is stale for {stale}: run `make release-notebooks`"


def test_trainee_material_holds_no_solution_hidden_test_or_answer_key():
    files = workspace.trainee_files()
    assert workspace.ORIENTATION in files
    assert {f"exercises/{e.id}/{e.id}.ipynb" for e in syllabus.exercises()} <= set(files)
    for name, content in files.items():
        assert not is_source_path(name), name
        text = content.decode("utf-8")
        assert not leaks(text, notebook=name.endswith(".ipynb")), \
            f"{name} holds solution or hidden-test text"


SHORT_ANSWERS = ('who_pays = "government"', 'province = "P06"', "highest_level_named = 4",
                 "uncorroborated_named = 10")


@pytest.mark.parametrize("answer", SHORT_ANSWERS)
def test_a_short_answer_pasted_into_a_trainee_notebook_is_found(answer):
    """Lines too short to be fingerprints in free text still count in a notebook's code cell."""
    assert answer in secret_lines("solution")
    name = f"exercises/{syllabus.exercises()[0].id}/{syllabus.exercises()[0].id}.ipynb"
    nb = nbformat.reads(workspace.trainee_files()[name].decode("utf-8"), as_version=4)
    assert not leaks(nbformat.writes(nb), notebook=True)
    nb.cells.append(nbformat.v4.new_code_cell(f"# my answer\n    {answer}\nprint('done')"))
    assert leaks(nbformat.writes(nb), notebook=True) == [answer]
    assert not leaks(nbformat.writes(nb)), "as free text it is no fingerprint (why this exists)"


def test_a_solution_line_with_quotes_in_a_notebook_is_found():
    """In a notebook's JSON a quote is escaped (\\"): the scan reads the decoded cells."""
    quoted = next(p for p in secret_fingerprints("solution") if '"' in p and "\n" not in p)
    name = f"exercises/{syllabus.exercises()[0].id}/{syllabus.exercises()[0].id}.ipynb"
    nb = nbformat.reads(workspace.trainee_files()[name].decode("utf-8"), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"My notes: {quoted} (from a friend)"))
    assert quoted in leaks(nbformat.writes(nb), notebook=True)
    assert quoted not in leaks(nbformat.writes(nb)), "the raw JSON hides it (why this exists)"


def test_module_0_points_trainees_at_their_own_copies():
    table = syllabus.as_table()
    assert not any("source" in f for f in table["file"]), table["file"].tolist()
    assert set(table["file"]) <= set(workspace.trainee_files())


# ---- the workspace `make lab` serves ------------------------------------------------------


def test_seeding_again_keeps_the_trainees_work(tmp_path):
    first = {"modules/a.ipynb": b"v1", "modules/b.ipynb": b"v1"}
    report = workspace.seed(tmp_path, first)
    assert sorted(report.written) == sorted(first)
    (tmp_path / "modules" / "a.ipynb").write_bytes(b"my answers")
    report = workspace.seed(tmp_path, {"modules/a.ipynb": b"v2", "modules/b.ipynb": b"v2"})
    assert (tmp_path / "modules" / "a.ipynb").read_bytes() == b"my answers"
    assert (tmp_path / "modules" / "a (course update).ipynb").read_bytes() == b"v2"
    assert (tmp_path / "modules" / "b.ipynb").read_bytes() == b"v2"  # untouched: updated
    assert report.kept == ["modules/a.ipynb"] and report.updated == ["modules/b.ipynb"]
    assert "a (course update).ipynb" in report.summary()


def test_seeding_never_overwrites_work_in_a_course_update_file(tmp_path):
    workspace.seed(tmp_path, {"a.ipynb": b"v1"})
    (tmp_path / "a.ipynb").write_bytes(b"my answers")
    workspace.seed(tmp_path, {"a.ipynb": b"v2"})
    (tmp_path / "a (course update).ipynb").write_bytes(b"my answers, in the update")
    report = workspace.seed(tmp_path, {"a.ipynb": b"v3"})
    assert (tmp_path / "a.ipynb").read_bytes() == b"my answers"
    assert (tmp_path / "a (course update).ipynb").read_bytes() == b"my answers, in the update"
    assert (tmp_path / "a (course update 2).ipynb").read_bytes() == b"v3"
    assert report.kept == ["a.ipynb"] and "a (course update 2).ipynb" in report.summary()
    workspace.seed(tmp_path, {"a.ipynb": b"v4"})  # the second update file is untouched: reused
    assert (tmp_path / "a (course update 2).ipynb").read_bytes() == b"v4"
    assert not (tmp_path / "a (course update 3).ipynb").exists()
    assert (tmp_path / "a (course update).ipynb").read_bytes() == b"my answers, in the update"


def _module(text: str) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text),
                                         nbformat.v4.new_code_cell("total = 1 + 1\ntotal")])
    return notebook_files.ipynb_text(notebook_files.normalise(nb)).encode("utf-8")


def _open_and_run(path: Path) -> None:
    """What JupyterLab does to a notebook a trainee only opens and runs: the kernel fills in
    language_info, the cells get outputs and execution counts, and autosave writes it back."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.3", "mimetype":
                                    "text/x-python", "file_extension": ".py"}
    code = nb.cells[1]
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                           execution_count=1)]
    path.write_text(json.dumps(nb, indent=2), encoding="utf-8")


def test_a_notebook_only_opened_and_run_is_updated_in_place(tmp_path):
    workspace.seed(tmp_path, {"modules/m.ipynb": _module("# Version 1")})
    _open_and_run(tmp_path / "modules" / "m.ipynb")
    ran = (tmp_path / "modules" / "m.ipynb").read_bytes()
    report = workspace.seed(tmp_path, {"modules/m.ipynb": _module("# Version 1")})
    assert (tmp_path / "modules" / "m.ipynb").read_bytes() == ran, "no update: outputs kept"
    assert not report.updated and not report.kept
    report = workspace.seed(tmp_path, {"modules/m.ipynb": _module("# Version 2")})
    assert report.updated == ["modules/m.ipynb"] and not report.kept
    assert (tmp_path / "modules" / "m.ipynb").read_bytes() == _module("# Version 2")
    assert not (tmp_path / "modules" / "m (course update).ipynb").exists()
    assert "outputs of modules/m.ipynb were cleared" in report.summary()
    # a changed cell is the trainee's work, with or without outputs
    edited = nbformat.read(tmp_path / "modules" / "m.ipynb", as_version=4)
    edited.cells[1].source = "total = 2 + 2"
    nbformat.write(edited, tmp_path / "modules" / "m.ipynb")
    report = workspace.seed(tmp_path, {"modules/m.ipynb": _module("# Version 3")})
    assert report.kept == ["modules/m.ipynb"]
    assert "total = 2 + 2" in (tmp_path / "modules" / "m.ipynb").read_text(encoding="utf-8")
    assert (tmp_path / "modules" / "m (course update).ipynb").read_bytes() == _module("# Version 3")


def test_a_seed_record_of_the_first_format_still_tells_edits_apart(tmp_path):
    import hashlib

    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "m.ipynb").write_bytes(_module("# Version 1"))
    (tmp_path / "notes.md").write_bytes(b"my edited notes")
    (tmp_path / workspace.SEED_RECORD).write_text(json.dumps({
        "modules/m.ipynb": hashlib.sha256(_module("# Version 1")).hexdigest(),
        "notes.md": hashlib.sha256(b"notes v1").hexdigest()}), encoding="utf-8")
    report = workspace.seed(tmp_path, {"modules/m.ipynb": _module("# Version 2"),
                                       "notes.md": b"notes v2"})
    assert report.updated == ["modules/m.ipynb"] and report.kept == ["notes.md"]
    assert (tmp_path / "notes.md").read_bytes() == b"my edited notes"
    record = json.loads((tmp_path / workspace.SEED_RECORD).read_text(encoding="utf-8"))
    assert "cells" in record["files"]["modules/m.ipynb"]  # rewritten in the current format


def test_seeding_keeps_permissions_and_files_the_course_dropped(tmp_path):
    workspace.seed(tmp_path, {"a.md": b"v1", "old.md": b"v1"})
    (tmp_path / "a.md").chmod(0o600)
    report = workspace.seed(tmp_path, {"a.md": b"v2"})
    assert (tmp_path / "a.md").read_bytes() == b"v2"
    assert (tmp_path / "a.md").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "old.md").read_bytes() == b"v1"
    assert "no longer part of the course: old.md; kept" in report.summary()


def test_seeding_refuses_a_folder_where_a_file_goes_and_writes_nothing(tmp_path):
    (tmp_path / "README.md").mkdir()
    with pytest.raises(workspace.WorkspaceError, match="README.md is a folder"):
        workspace.seed(tmp_path, {"modules/a.ipynb": b"x", "README.md": b"readme"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    (tmp_path / "README.md").rmdir()
    (tmp_path / "modules").write_text("a file where the course needs a folder")
    with pytest.raises(workspace.WorkspaceError, match="modules is a file"):
        workspace.seed(tmp_path, {"README.md": b"readme", "modules/a.ipynb": b"x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["modules"]


def test_seeding_refuses_to_write_through_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "modules").symlink_to(outside)
    with pytest.raises(workspace.WorkspaceError, match="symbolic link"):
        workspace.seed(tmp_path / "ws", {"modules/a.ipynb": b"x"})
    assert not any(outside.iterdir())


def _get(base: str, token: str, path: str) -> dict:
    url = f"{base}/{path}{'&' if '?' in path else '?'}token={token}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.load(resp)


def _walk(base: str, token: str, path: str = "") -> dict[str, str]:
    """Every file the contents API serves, with its content as text."""
    model = _get(base, token, f"api/contents/{path}?content=1")
    if model["type"] != "directory":
        content = model["content"]
        return {path: json.dumps(content) if model["type"] == "notebook" else str(content)}
    files = {}
    for item in model["content"]:
        files.update(_walk(base, token, item["path"]))
    return files


def checkout_state() -> tuple[str, str]:
    """What `git status` shows (untracked files too) and the diff of tracked files: on a clean
    clone both are empty; elsewhere the test compares them before and after."""
    git = ["git", "-C", str(ROOT)]
    status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    diff = subprocess.run([*git, "diff", "HEAD", "--binary"], capture_output=True,
                          check=True).stdout
    return status, __import__("hashlib").sha256(diff).hexdigest()


@pytest.mark.slow
def test_served_tree_is_the_trainees_and_running_it_changes_no_tracked_file():
    ws = ROOT / "workspace" / f".test-{__import__('os').getpid()}"  # inside the git-ignored folder
    before = checkout_state()
    try:
        workspace.seed(ws)
        token = "trainee-test"
        with running_lab(ws, token) as base:
            served = _walk(base, token)
            assert set(served) == set(workspace.trainee_files())
            for name, text in served.items():
                assert not leaks(text, notebook=name.endswith(".ipynb")), \
                    f"the lab serves {name} with solution or hidden-test text"
            # trainees' JupyterLab: no news question, no update check, no instructor tools
            notification = _get(base, token,
                                "lab/api/settings/@jupyterlab/apputils-extension:notification")
            defaults = notification["schema"]["properties"]  # the overrides set the defaults
            assert defaults["fetchNews"]["default"] == "false"  # "Never": no question asked
            assert defaults["checkForUpdates"]["default"] is False
            with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=30) as resp:
                page = resp.read().decode("utf-8")
            for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                           "@jupyter/nbgrader:course-list"):
                assert f'"{plugin}"' in page.split('"disabledExtensions"', 1)[1][:2000], plugin
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(f"{base}/formgrader?token={token}", timeout=30)
            # every module run and saved through the server, as autosave does
            for module in syllabus.modules():
                model = _get(base, token, f"api/contents/{module.trainee_path}?content=1")
                nb = nbformat.from_dict(model["content"])
                nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                        resources={"metadata": {"path": str(ws / "modules")}}
                                        ).execute()
                body = json.dumps({"type": "notebook", "format": "json", "content": nb})
                request = urllib.request.Request(
                    f"{base}/api/contents/{module.trainee_path}?token={token}",
                    data=body.encode("utf-8"), method="PUT",
                    headers={"Content-Type": "application/json"})
                urllib.request.urlopen(request, timeout=60).close()
        saved = nbformat.read(ws / syllabus.modules()[1].trainee_path, as_version=4)
        assert any(c.get("outputs") for c in saved.cells), "the saved module has no outputs"
        assert checkout_state() == before, "running the course changed the checkout (git status)"
    finally:
        import shutil

        shutil.rmtree(ws, ignore_errors=True)


# ---- the trainee branch nbgitpuller pulls --------------------------------------------------


def test_trainee_branch_holds_only_the_trainees_material(tmp_path):
    from tools import trainee_branch

    repo = tmp_path / "upstream.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)
    commit = trainee_branch.publish(repo)
    assert trainee_branch.publish(repo) == commit, "an unchanged course must not add a commit"
    listed = subprocess.run(["git", f"--git-dir={repo}", "ls-tree", "-r", "--name-only",
                             "trainee"], capture_output=True, text=True, check=True).stdout.split()
    assert sorted(listed) == sorted(workspace.trainee_files())
    for name in listed:
        text = subprocess.run(["git", f"--git-dir={repo}", "show", f"trainee:{name}"],
                              capture_output=True, text=True, check=True).stdout
        assert not leaks(text, notebook=name.endswith(".ipynb")), \
            f"the trainee branch holds secret text in {name}"


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "user.name=Test",
                           "-c", "user.email=test@localhost", *args], capture_output=True,
                          text=True, check=check, timeout=120)


def _an_old_distribution(gitdir: Path) -> str:
    """A commit standing for an earlier trainee distribution, on ``trainee`` of ``gitdir``."""
    blob = subprocess.run(["git", f"--git-dir={gitdir}", "hash-object", "-w", "--stdin"],
                          input="an earlier course\n", capture_output=True, text=True,
                          check=True).stdout.strip()
    tree = subprocess.run(["git", f"--git-dir={gitdir}", "mktree"],
                          input=f"100644 blob {blob}\tREADME.md\n", capture_output=True,
                          text=True, check=True).stdout.strip()
    commit = _git(f"--git-dir={gitdir}", "commit-tree", tree, "-m", "old").stdout.strip()
    _git(f"--git-dir={gitdir}", "update-ref", "refs/heads/trainee", commit)
    return commit


def test_a_fresh_clone_publishes_on_top_of_the_pushed_trainee_branch(tmp_path):
    from tools import trainee_branch

    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    _git("init", "--quiet", "--bare", str(origin))
    published = _an_old_distribution(origin)
    _git("clone", "--quiet", str(origin), str(clone))
    assert _git("-C", str(clone), "rev-parse", "--verify", "--quiet", "refs/heads/trainee",
                check=False).returncode != 0, "a fresh clone has only origin/trainee"
    commit = trainee_branch.publish(clone)
    assert _git("-C", str(clone), "rev-parse", f"{commit}^").stdout.strip() == published
    assert _git("-C", str(clone), "rev-parse", "trainee").stdout.strip() == commit
    _git("-C", str(clone), "push", "--quiet", "origin", "trainee")  # a fast-forward: no force
    assert _git(f"--git-dir={origin}", "rev-parse", "trainee").stdout.strip() == commit
    # a local branch behind the remote's moves forward to it; nothing new to commit
    _git("-C", str(clone), "update-ref", "refs/heads/trainee", published)
    assert trainee_branch.publish(clone) == commit
    assert _git("-C", str(clone), "rev-parse", "trainee").stdout.strip() == commit
    # a local branch unrelated to the remote's: refused, nothing moved
    unrelated = _git("-C", str(clone), "commit-tree", f"{published}^{{tree}}", "-m", "x"
                     ).stdout.strip()
    _git("-C", str(clone), "update-ref", "refs/heads/trainee", unrelated)
    with pytest.raises(trainee_branch.PublishError, match="diverged"):
        trainee_branch.publish(clone)
    assert _git("-C", str(clone), "rev-parse", "trainee").stdout.strip() == unrelated


def test_the_command_refuses_uncommitted_course_changes(tmp_path, monkeypatch, capsys):
    from tools import trainee_branch

    checkout = tmp_path / "checkout"
    (checkout / "course").mkdir(parents=True)
    (checkout / "course" / "module.md").write_text("# A module\n")
    _git("init", "--quiet", str(checkout))
    _git("-C", str(checkout), "add", ".")
    _git("-C", str(checkout), "commit", "--quiet", "-m", "course")
    (checkout / "course" / "module.md").write_text("# A module, edited\n")
    monkeypatch.setattr(trainee_branch, "ROOT", checkout)  # the checkout it is built from
    dirty, clean = tmp_path / "dirty.git", tmp_path / "clean.git"
    for repo in (dirty, clean):
        _git("init", "--quiet", "--bare", str(repo))
    assert trainee_branch.main(["--repo", str(dirty)]) == 2
    assert "commit or stash your changes to course/ first" in capsys.readouterr().err
    assert _git(f"--git-dir={dirty}", "rev-parse", "--verify", "--quiet", "trainee",
                check=False).returncode != 0, "refused: no branch"
    assert trainee_branch.main(["--repo", str(dirty), "--allow-dirty"]) == 0
    head = _git("-C", str(checkout), "rev-parse", "--short", "HEAD").stdout.strip()
    message = _git(f"--git-dir={dirty}", "log", "-1", "--format=%s", "trainee").stdout.strip()
    assert message == f"Trainee distribution built from {head} (with uncommitted changes)"
    _git("-C", str(checkout), "commit", "--quiet", "-am", "edit")
    assert trainee_branch.main(["--repo", str(clean)]) == 0
    head = _git("-C", str(checkout), "rev-parse", "--short", "HEAD").stdout.strip()
    message = _git(f"--git-dir={clean}", "log", "-1", "--format=%s", "trainee").stdout.strip()
    assert message == f"Trainee distribution built from {head} (working tree clean)"


# ---- the hub image's build context ---------------------------------------------------------


def dockerignore_keeps(patterns: list[str], path: str) -> bool:
    """Whether Docker sends ``path`` (relative, POSIX) given .dockerignore ``patterns``: the
    last matching pattern wins; a pattern matches the path or any folder above it."""
    keep = True
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        regex = fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        import re

        if any(re.match(regex, c) for c in candidates) or (
                pattern.startswith("**/") and any(fnmatch.fnmatch(c.rsplit("/", 1)[-1],
                                                                  pattern[3:]) for c in candidates)):
            keep = negate
    return keep


def test_dockerignore_reading_follows_docker_rules():
    rules = ["*", "!course", "course/exercises/source", "**/__pycache__"]
    assert dockerignore_keeps(rules, "course/modules/00-orientation.md")
    assert not dockerignore_keeps(rules, "course/exercises/source/ex01/ex01.md")
    assert not dockerignore_keeps(rules, "course/maps/__pycache__/x.pyc")
    assert not dockerignore_keeps(rules, "tools/notebooks.py")
    assert not dockerignore_keeps(rules, ".git/HEAD")


def test_image_build_context_holds_no_source_or_solution():
    patterns = [line.strip() for line in
                (ROOT / "deploy" / "k8s" / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True,
                             text=True, check=True).stdout.split()
    context = [p for p in tracked if dockerignore_keeps(patterns, p)]
    assert "requirements.lock" in context and "course/syllabus.yml" in context
    assert any(p.startswith("course/exercises/release/") for p in context)
    for path in context:
        assert not is_source_path(path), f"the image's build context holds {path}"
        text = (ROOT / path).read_bytes().decode("utf-8", errors="replace")
        assert not package_leaks(path, text), f"{path} in the image's context holds secret text"


# ---- the built wheel and sdist --------------------------------------------------------------


@pytest.mark.slow
def test_wheel_and_sdist_hold_no_solution_or_hidden_test(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", str(ROOT), "-w", str(tmp_path)], check=True,
                   timeout=300, capture_output=True)
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([str(uv), "build", "--quiet", "--sdist", "--no-build-isolation",
                    "--python", sys.executable, "-o", str(tmp_path), str(ROOT)],
                   check=True, timeout=300, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    (sdist,) = tmp_path.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with tarfile.open(sdist) as tf:
        members |= {m.name.split("/", 1)[1]: tf.extractfile(m).read()
                    for m in tf.getmembers() if m.isfile()}
    assert any(n.startswith("course/exercises/release/") for n in members)
    assert any(n.startswith("course/modules/") for n in members)
    for name, content in members.items():
        assert not is_source_path(name), f"the package holds {name}"
        text = content.decode("utf-8", errors="replace")
        assert not package_leaks(name, text), f"{name} in the package holds secret text"
