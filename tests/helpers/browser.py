"""Reading what a page in Chromium did: requests that left this machine, cells run from the menu."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout

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


def start_kernel(page, timeout: float = 120) -> None:
    """Wait until the notebook's kernel is idle, answering JupyterLab's "Select Kernel" dialog
    (it appears when the kernel is slow to start on a loaded machine) with the default kernel."""
    deadline = time.monotonic() + timeout
    idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    choose = page.locator(".jp-Dialog button", has_text="Select")
    while time.monotonic() < deadline:
        if choose.count() and choose.first.is_visible():
            choose.first.click()
        elif idle.count():
            return
        time.sleep(1)
    raise AssertionError("the notebook's kernel did not start")


def run_all(page, timeout: float = 300) -> None:
    """Run > Run All Cells, asking again if the kernel dropped the request (no cell queued)."""
    deadline = time.monotonic() + timeout
    asked = 0
    choose = page.locator(".jp-Dialog button", has_text="Select")
    while time.monotonic() < deadline:
        if choose.count() and choose.first.is_visible():
            choose.first.click()  # a late "Select Kernel" dialog would block the menu
            continue
        prompts = page.evaluate(PROMPTS_JS)
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return
        if asked == 0 or (asked < 3 and all(p == "[ ]:" for p in prompts)):
            try:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=10_000)
                page.locator('li[data-command="runmenu:run-all"]').click(timeout=10_000)
            except PlaywrightTimeout:
                page.keyboard.press("Escape")  # close whatever was in the way, then try again
                continue
            asked += 1
            time.sleep(20)
        time.sleep(1)
    raise AssertionError(f"cells did not all run: prompts {page.evaluate(PROMPTS_JS)}")
