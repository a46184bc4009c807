"""`python -m course link`: the nbgitpuller link, its encoding, and clear errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from course import link
from course.__main__ import main

HUB = "https://hub.example.org"
REPO = "https://git.example.org/org/upstream.git"


def query(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values())
    return {k: v[0] for k, v in parsed.items()}


def test_link_opens_the_orientation_module_through_nbgitpuller():
    url = link.nbgitpuller_link(HUB, REPO)
    assert url.startswith(f"{HUB}/hub/user-redirect/git-pull?")
    assert query(url) == {
        "repo": REPO,
        "branch": "trainee",
        "targetPath": "upstream",
        "urlpath": "lab/tree/upstream/modules/00-orientation.ipynb",
    }


def test_link_percent_encodes_every_reserved_character():
    url = link.nbgitpuller_link("https://example.org/jupyter/", "https://git.example.org/a b/c&d.git",
                                branch="spring-2026/cohort+1")
    raw = urlsplit(url).query
    assert " " not in raw and "+" not in raw and raw.count("&") == 3
    assert "repo=https%3A%2F%2Fgit.example.org%2Fa%20b%2Fc%26d.git" in raw
    assert query(url)["branch"] == "spring-2026/cohort+1"
    assert query(url)["targetPath"] == "c&d"
    assert url.startswith("https://example.org/jupyter/hub/user-redirect/git-pull?")


def test_file_repository_and_trailing_slashes():
    url = link.nbgitpuller_link("http://127.0.0.1:8000/", "file:///srv/git/upstream.git/")
    assert query(url)["repo"] == "file:///srv/git/upstream.git/"
    assert query(url)["targetPath"] == "upstream"
    assert url.startswith("http://127.0.0.1:8000/hub/")


@pytest.mark.parametrize(("hub", "message"), [
    ("hub.example.org", "not a web address"),
    ("ftp://hub.example.org", "not a web address"),
    ("https://", "not a web address"),
    ("https://me:secret@hub.example.org", "user name or password"),
    ("https://hub.example.org/?next=x", "'?…' or '#…'"),
    ("https://hub.example.org/hub/home", "e.g. https://hub.example.org"),
    ("https://example.org/jupyter/user/tom/lab", "e.g. https://example.org/jupyter"),
])
def test_bad_hub_addresses_are_refused_with_a_hint(hub, message):
    with pytest.raises(link.LinkError, match=message.replace("?", r"\?")):
        link.nbgitpuller_link(hub, REPO)


@pytest.mark.parametrize(("repo", "message"), [
    ("git@github.com:org/upstream.git", "SSH address"),
    ("/srv/git/upstream.git", "file:///srv/git/upstream.git"),
    ("upstream", "not an https://"),
    ("https:///upstream.git", "no host name"),
    ("https://git.example.org/", "does not name a repository"),
    ("https://git.example.org/org/upstream.git#main", "'#…'"),
])
def test_bad_repositories_are_refused_with_a_hint(repo, message):
    with pytest.raises(link.LinkError, match=message):
        link.nbgitpuller_link(HUB, repo)


@pytest.mark.parametrize("branch", ["", "-x", "a..b", "a b", "x.lock", "a~1", "a:b", "x/", "@{1}"])
def test_bad_branch_names_are_refused(branch):
    with pytest.raises(link.LinkError, match="branch"):
        link.nbgitpuller_link(HUB, REPO, branch=branch)


@pytest.mark.parametrize("notebook", ["/etc/passwd.ipynb", "../x.ipynb", "course/README.md"])
def test_bad_notebook_paths_are_refused(notebook):
    with pytest.raises(link.LinkError, match="--open"):
        link.nbgitpuller_link(HUB, REPO, notebook=notebook)


def test_default_repo_is_the_origin_remote(tmp_path):
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    with pytest.raises(link.LinkError, match="pass --repo"):
        link.default_repo(tmp_path)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", REPO], check=True)
    assert link.default_repo(tmp_path) == REPO


def test_command_line_prints_the_link(capsys):
    assert main(["link", "--hub", HUB, "--repo", REPO, "--branch", "trainee"]) == 0
    assert capsys.readouterr().out.strip() == link.nbgitpuller_link(HUB, REPO)


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_command_line_reports_bad_input_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "course", "link", "--hub", "hub.example.org",
                           "--repo", REPO], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: --hub 'hub.example.org' is not a web address")
    assert "Traceback" not in done.stderr
