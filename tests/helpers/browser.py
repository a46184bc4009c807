"""Reading what a page in Chromium did: requests that left this machine, cells run from the menu."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
INERT_SCHEMES = {"data", "blob", "about"}  # never leave the browser


def outside_requests(urls: list[str]) -> list[str]:
    """The URLs (of requests and web sockets) that would leave this machine."""
    outside = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in INERT_SCHEMES:
            continue
        if parts.scheme not in {"http", "https", "ws", "wss"} or parts.hostname not in LOCAL_HOSTS:
            outside.append(url)
    return outside


PROMPTS_JS = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim())"""


def run_all_cells(page, timeout: float = 240) -> list[str]:
    """Run > Run All Cells from JupyterLab's menu bar; wait until every code cell has run."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('li[data-command="runmenu:run-all"]').click()
    deadline = time.monotonic() + timeout
    while True:
        prompts = page.evaluate(PROMPTS_JS)
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return prompts
        if time.monotonic() > deadline:
            raise AssertionError(f"cells did not all run within {timeout:.0f}s: prompts {prompts}")
        time.sleep(1)
