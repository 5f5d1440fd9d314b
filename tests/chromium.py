"""The one way the tests start a browser: Debian's chromium (``CHROMIUM_PATH`` when set, else
``/usr/bin/chromium``) driven by Playwright, never a browser downloaded by ``playwright install``.

Chromium missing is a test failure, not a skip: the browser tests are the only proof that the pages
work in a browser.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, async_playwright

__all__ = ["CHROMIUM_ARGS", "chromium_path", "launch_chromium"]

DEFAULT_CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
"""No setuid sandbox (containers run as root), no GPU (headless), no background requests."""


def chromium_path() -> str:
    """``CHROMIUM_PATH`` if set, else ``/usr/bin/chromium``; fails the test when it is not an
    executable file."""
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"chromium is required for the browser tests: {path} is not an executable file "
            "(apt-get install chromium, or set CHROMIUM_PATH)"
        )
    return path


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """Headless chromium (:func:`chromium_path`) with :data:`CHROMIUM_ARGS`, closed on exit."""
    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            await browser.close()
