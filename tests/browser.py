"""Headless Chromium for the tests that need a real browser (Debian's `chromium` and
`chromium-driver`, which `./dev test` installs), driven by Selenium.

`Browser` starts one Chromium with a fresh profile and stops it (and removes the profile)
on `close()`; the `browser` fixture in conftest.py shares one per test session. A page
reports what it saw in `window.results`, which `wait_for` reads."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def available() -> bool:
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


class Browser:
    """One headless Chromium: `open(url)`, then `wait_for("window.results.done")`."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="aiokoa-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        # The console's messages, for `driver.get_log("browser")`.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait_for(self, expression: str, timeout: float = 10) -> Any:
        """The value of a JavaScript expression once it is truthy (polled)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.driver.execute_script(f"return {expression};")
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression} stayed falsy for {timeout} s")
            time.sleep(0.02)

    def console(self) -> list[dict[str, Any]]:
        """The console's messages since the last call (each with its `level` and `message`)."""
        entries: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return entries

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
