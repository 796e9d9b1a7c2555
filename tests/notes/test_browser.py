"""The notes app in a real browser (headless Chromium, driven by Selenium): sign up, log in,
write a note with an attachment, watch a second tab receive it live, be refused a POST from
a page of another origin, log out; a screenshot of the page, and a console with no errors."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app import Config, create_app
from selenium.webdriver.common.by import By

from aiokoa import Context, Koa
from aiokoa.core import implementations

from ..browser import Browser
from ..conftest import running

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def implementation() -> Iterator[str]:
    """What the browser sees is the app's, whichever implementation serves it: this costly test
    runs once (the API's tests run on both)."""
    yield implementations.implementation()


@pytest.fixture
def chromium(browser: Browser) -> Iterator[Browser]:
    """The session's browser, left as it was found, even by a failing test: one tab, blank."""
    first = browser.driver.current_window_handle
    yield browser
    for handle in browser.driver.window_handles:
        if handle != first:
            browser.driver.switch_to.window(handle)
            browser.driver.close()
    browser.driver.switch_to.window(first)
    browser.open("about:blank")


def cross_site_page(target: str) -> Koa:
    """Another origin's page, with a form that posts a note to the notes app."""
    page = Koa()

    @page.use
    async def form(ctx: Context) -> None:
        ctx.type = "html"
        ctx.body = f"""<!doctype html><title>elsewhere</title>
<form method="post" action="{target}/api/notes"><input name="text" value="planted"><button id="go">go</button></form>"""

    return page


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def test_the_notes_app_in_a_browser(chromium: Browser, tmp_path: Path) -> None:
    browser, driver = chromium, chromium.driver
    log: list[dict[str, Any]] = []
    config = Config(database=str(tmp_path / "notes.db"))
    upload = tmp_path / "plan.txt"
    upload.write_bytes(b"step 1\nstep 2\n" * 100)

    def element(id: str) -> Any:
        return driver.find_element(By.ID, id)

    def enter(button: str) -> None:
        element("name").clear()
        element("name").send_keys("ada")
        element("password").send_keys(PASSWORD)
        element(button).click()
        browser.wait_for("document.body.dataset.live === 'yes'")  # logged in, and the stream is open

    def notes_shown() -> list[str]:
        texts: list[str] = driver.execute_script(
            "return [...document.querySelectorAll('#notes > li > p')].map((p) => p.textContent);"
        )
        return texts

    with running(create_app(config, log=lambda line, args: log.append(args[0]))) as url:
        browser.console()  # what earlier tests left in it
        browser.open(url + "/")
        browser.wait_for("!document.getElementById('account').hidden")
        enter("signup")
        assert element("name-shown").text == "ada"
        element("logout").click()
        browser.wait_for("!document.getElementById('account').hidden")
        enter("login")

        # A second tab: the same browser, so the same session.
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")
        browser.open(url + "/")
        browser.wait_for("document.body.dataset.live === 'yes'")
        second = driver.current_window_handle
        assert notes_shown() == []

        driver.switch_to.window(first)
        element("text").send_keys("Buy milk\nand bread")
        element("file").send_keys(str(upload))
        element("add").click()
        browser.wait_for("document.querySelector('#notes a')")
        assert notes_shown() == ["Buy milk\nand bread"]
        link = driver.find_element(By.CSS_SELECTOR, "#notes a")
        assert link.text == f"plan.txt ({upload.stat().st_size} bytes)"
        downloaded = driver.execute_async_script(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then((r) => r.text()).then(done);",
            link.get_attribute("href"),
        )
        assert downloaded == upload.read_text()

        # The other tab was not reloaded: the note and its file came over its event stream.
        driver.switch_to.window(second)
        browser.wait_for("document.querySelector('#notes a')")
        assert notes_shown() == ["Buy milk\nand bread"]
        driver.close()
        driver.switch_to.window(first)

        screenshot = tmp_path / "notes.png"
        assert driver.save_screenshot(str(screenshot))
        width, height = png_size(screenshot)
        assert width >= 300 and height >= 200
        assert screenshot.stat().st_size > 5_000  # a page drawn, not a blank image
        assert [entry for entry in browser.console() if entry["level"] == "SEVERE"] == []

        # A page of another origin (another port: the same site, so the cookie goes with it)
        # posts a note with the user's session: the CSRF check refuses it.
        with running(cross_site_page(url)) as elsewhere:
            browser.open(elsewhere + "/")
            element("go").click()
            browser.wait_for(f"location.href === '{url}/api/notes'")
            assert "CSRF: a same-site request may not POST here" in driver.find_element(By.TAG_NAME, "body").text
        refused = [entry for entry in log if entry["method"] == "POST" and entry["path"] == "/api/notes"]
        assert [entry["status"] for entry in refused] == [201, 403]

        browser.open(url + "/")
        browser.wait_for("document.body.dataset.live === 'yes'")
        assert notes_shown() == ["Buy milk\nand bread"]  # nothing was planted

        element("logout").click()
        browser.wait_for("!document.getElementById('account').hidden")
        assert browser.wait_for("document.body.dataset.live === undefined") is True  # its stream closed
        status = driver.execute_async_script(
            "const done = arguments[arguments.length - 1]; fetch('/api/notes').then((r) => done(r.status));"
        )
        assert status == 401
        # The console check above would have seen an error: this refusal is in the console.
        errors = [entry["message"] for entry in browser.console() if entry["level"] == "SEVERE"]
        assert any("/api/notes" in message and "401" in message for message in errors), errors
        browser.open("about:blank")  # no stream left open: the server stops at once
