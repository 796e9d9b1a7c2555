"""The notes app's JSON API, served by uvicorn on a free port and asked over HTTP as its page
asks it: with the session cookie and the CSRF token."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from app import Config, create_app

from ..conftest import StartServer, free_port, running
from . import NOTES

PASSWORD = "correct horse battery"


@dataclass
class Notes:
    url: str
    log: list[dict[str, Any]]  # the access log, one entry per response

    def client(self) -> httpx.Client:
        """A new browser, as far as the app can tell: a cookie jar of its own."""
        return httpx.Client(base_url=self.url, timeout=10, headers={"Accept": "application/json"})


@pytest.fixture
def notes(tmp_path: Path) -> Iterator[Notes]:
    log: list[dict[str, Any]] = []
    config = Config(
        database=str(tmp_path / "notes.db"), origins=("http://front.example",), max_file="64kb", login_attempts=8
    )
    with running(create_app(config, log=lambda line, args: log.append(args[0]))) as url:
        yield Notes(url, log)


def token(client: httpx.Client) -> str:
    csrf: str = client.get("/api/session").json()["csrf"]
    return csrf


def sign_up(client: httpx.Client, name: str) -> None:
    """Sign `name` up (logged in from then on); the client sends the CSRF token from then on,
    as the page does."""
    response = client.post(
        "/api/signup", json={"name": name, "password": PASSWORD}, headers={"X-CSRF-Token": token(client)}
    )
    assert response.status_code == 201, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf"]


def test_sign_up_log_out_and_log_in(notes: Notes) -> None:
    with notes.client() as client:
        assert client.get("/api/session").json()["name"] is None
        sign_up(client, "ada")
        assert client.get("/api/session").json()["name"] == "ada"
        assert client.get("/api/notes").json() == []
        assert client.post("/api/logout").status_code == 204
        refused = client.get("/api/notes")
        assert (refused.status_code, refused.json()["error"]["message"]) == (401, "log in first")

        client.headers["X-CSRF-Token"] = token(client)  # the new session's
        wrong = client.post("/api/login", json={"name": "ada", "password": "not the password"})
        assert (wrong.status_code, wrong.json()["error"]["message"]) == (401, "wrong name or password")
        nobody = client.post("/api/login", json={"name": "bob", "password": PASSWORD})
        assert nobody.status_code == 401
        assert client.get("/api/notes").status_code == 401
        right = client.post("/api/login", json={"name": "ada", "password": PASSWORD})
        assert right.status_code == 200
        assert right.json()["name"] == "ada"
        assert client.get("/api/notes").status_code == 200

        taken = client.post("/api/signup", json={"name": "ada", "password": PASSWORD})
        assert (taken.status_code, taken.json()["error"]["message"]) == (409, "the name 'ada' is taken")
        short = client.post("/api/signup", json={"name": "a b", "password": "short"})
        assert short.status_code == 422
        assert [detail["pointer"] for detail in short.json()["error"]["details"]] == ["/name", "/password"]
    # The cookie is signed and holds no password; the database keeps a salted hash only.
    assert all(PASSWORD not in json.dumps(entry) for entry in notes.log)


def test_changes_need_the_csrf_token_and_this_site(notes: Notes) -> None:
    with notes.client() as client:
        missing = client.post("/api/signup", json={"name": "ada", "password": PASSWORD})
        assert missing.status_code == 403
        assert missing.json()["error"]["message"].startswith("CSRF token missing")
        sign_up(client, "ada")
        with notes.client() as other:  # a token made for another session
            foreign = client.post("/api/notes", json={"text": "x"}, headers={"X-CSRF-Token": token(other)})
        assert foreign.json()["error"]["message"] == "CSRF token invalid: it was not made for this session"
        # A page of another site: refused even with a token that leaked.
        for header in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
            refused = client.post("/api/notes", json={"text": "x"}, headers=header)
            assert refused.status_code == 403
            assert "access-control-allow-origin" not in refused.headers
        assert client.get("/api/notes").json() == []
        # The origin the configuration allows: CORS with credentials, and trusted by the CSRF check.
        front = {"Origin": "http://front.example"}
        allowed = client.post("/api/notes", json={"text": "from the front"}, headers=front)
        assert allowed.status_code == 201
        assert allowed.headers["access-control-allow-origin"] == "http://front.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"


def test_notes_are_created_listed_and_deleted_by_their_owner_only(notes: Notes) -> None:
    with notes.client() as ada, notes.client() as bob:
        sign_up(ada, "ada")
        sign_up(bob, "bob")
        first = ada.post("/api/notes", json={"text": "first"})
        assert first.status_code == 201
        note = first.json()
        assert (note["text"], note["attachments"]) == ("first", [])
        second = ada.post("/api/notes", json={"text": "second\nline"}).json()
        assert [n["text"] for n in ada.get("/api/notes").json()] == ["first", "second\nline"]
        empty = ada.post("/api/notes", json={"text": ""})
        assert empty.status_code == 422

        # Bob sees none of Ada's notes, and cannot delete or attach to one.
        assert bob.get("/api/notes").json() == []
        assert bob.delete(f"/api/notes/{note['id']}").status_code == 404
        files = {"file": ("x.txt", b"x")}
        attach = bob.post(f"/api/notes/{note['id']}/attachments", files=files)
        assert attach.status_code == 404

        assert ada.delete(f"/api/notes/{note['id']}").status_code == 204
        assert [n["id"] for n in ada.get("/api/notes").json()] == [second["id"]]
        assert ada.delete(f"/api/notes/{note['id']}").status_code == 404
        assert ada.delete("/api/notes/x").status_code == 422


def test_attachments_upload_and_download_byte_exact(notes: Notes) -> None:
    with notes.client() as ada, notes.client() as bob:
        sign_up(ada, "ada")
        sign_up(bob, "bob")
        note = ada.post("/api/notes", json={"text": "with a file"}).json()
        data = os.urandom(60_000) + b"\0\r\n--boundary\r\n"  # binary, and what a multipart parser looks for
        files = {"file": ("отчёт 1.bin", data, "application/pdf")}
        sent = ada.post(f"/api/notes/{note['id']}/attachments", files=files)
        assert sent.status_code == 201
        attachment = sent.json()
        assert (attachment["name"], attachment["size"]) == ("отчёт 1.bin", len(data))
        assert ada.get("/api/notes").json()[0]["attachments"] == [attachment]

        path = f"/api/notes/{note['id']}/attachments/{attachment['id']}"
        got = ada.get(path, headers={"Accept-Encoding": "gzip"})
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["content-type"] == "application/octet-stream"  # a download, never rendered here
        assert got.headers["content-disposition"].startswith("attachment;")
        assert "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%201.bin" in got.headers["content-disposition"]
        assert bob.get(path).status_code == 404
        assert ada.get(f"/api/notes/{note['id']}/attachments/999").status_code == 404

        big = {"file": ("big.bin", b"x" * (64 * 1024 + 1))}
        too_large = ada.post(f"/api/notes/{note['id']}/attachments", files=big)
        assert too_large.status_code == 413
        assert too_large.json()["error"]["message"] == "file 'big.bin' is larger than the limit of 64kb (65536 bytes)"
        two = [("file", ("a", b"a")), ("file", ("b", b"b"))]
        assert ada.post(f"/api/notes/{note['id']}/attachments", files=two).status_code == 413
        assert len(ada.get("/api/notes").json()[0]["attachments"]) == 1


def test_login_attempts_are_limited(notes: Notes) -> None:
    with notes.client() as client:
        sign_up(client, "ada")  # one attempt of the eight a minute
        client.headers["X-CSRF-Token"] = token(client)  # the new session's
        wrong = {"name": "ada", "password": "guess number n"}
        statuses = [client.post("/api/login", json=wrong).status_code for _ in range(8)]
        assert statuses == [401] * 7 + [429]
        limited = client.post("/api/login", json={"name": "ada", "password": PASSWORD})
        assert limited.status_code == 429  # even with the right password, for the rest of the minute
        assert int(limited.headers["retry-after"]) > 0
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert client.get("/api/session").status_code == 200  # the rest of the app is not limited as tightly
        assert int(client.get("/api/session").headers["x-ratelimit-limit"]) == 600


def test_every_open_tab_of_the_user_gets_each_change_live(notes: Notes) -> None:
    with notes.client() as tab, notes.client() as other_user:
        sign_up(tab, "ada")
        sign_up(other_user, "bob")
        assert httpx.get(notes.url + "/api/events").status_code == 401
        with tab.stream("GET", "/api/events") as ada_events, other_user.stream("GET", "/api/events") as bob_events:
            assert ada_events.headers["content-type"] == "text/event-stream; charset=utf-8"
            ada_lines, bob_lines = ada_events.iter_lines(), bob_events.iter_lines()
            assert [next(ada_lines), next(ada_lines)] == ["event: ready", "data: listening"]
            assert [next(bob_lines), next(bob_lines)] == ["event: ready", "data: listening"]
            # Another tab of Ada's (the same cookies) writes a note.
            note = tab.post("/api/notes", json={"text": "live"}).json()
            assert next(ada_lines) == ""
            assert json.loads(next(ada_lines).removeprefix("data: ")) == {"saved": note}
            tab.delete(f"/api/notes/{note['id']}")
            assert next(ada_lines) == ""
            assert json.loads(next(ada_lines).removeprefix("data: ")) == {"deleted": note["id"]}
            # Bob's stream got nothing of Ada's: the next thing on it is his own note.
            other_user.post("/api/notes", json={"text": "bob's"})
            assert next(bob_lines) == ""
            assert json.loads(next(bob_lines).removeprefix("data: "))["saved"]["text"] == "bob's"


def test_the_app_runs_as_a_script_and_creates_its_database(server_process: StartServer, tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "new" / "folder" / "notes.db"
    server = server_process(
        [sys.executable, "-u", str(NOTES / "app.py")],
        port,
        PORT=str(port),
        NOTES_DATABASE=str(database),
        NOTES_ORIGINS="http://a.example, http://b.example",
    )
    page = httpx.get(server.url + "/", headers={"Origin": "http://b.example"})
    assert page.status_code == 200
    assert '<script src="/app.js" defer></script>' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self';")
    assert page.headers["access-control-allow-origin"] == "http://b.example"
    script = httpx.get(server.url + "/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"
    assert "EventSource" in script.text
    assert database.exists()
    out, _ = server.output()
    assert "--> GET / 200" in out
