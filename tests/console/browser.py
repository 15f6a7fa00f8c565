"""Debian's chromium driven by Playwright (never a browser that Playwright downloads)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Where chromium is; the test is skipped, saying why, when it is not installed."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed: run scripts/ensure_chromium.sh")
    return path


@contextmanager
def browser_page() -> Iterator[Any]:
    """A fresh page in a chromium with its own temporary profile."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="console-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()
