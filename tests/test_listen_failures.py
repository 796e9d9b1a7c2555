"""`app.listen()` when serving cannot go on: the startup listeners fail (exit status 3, as
uvicorn's own command), or the address fails for a reason without a hint of its own."""

from __future__ import annotations

import errno
import gc
import warnings

import pytest

from aiokoa import Koa
from aiokoa.core.server import STARTUP_FAILURE, reason

from .conftest import free_port


def test_a_failed_startup_ends_listen_with_uvicorn_s_status(capsys: pytest.CaptureFixture[str]) -> None:
    app = Koa()

    def refuse() -> None:
        raise RuntimeError("no database")

    app.on("startup", refuse)
    port = free_port()
    with pytest.raises(SystemExit) as stopped:
        app.listen(port)
    assert stopped.value.code == STARTUP_FAILURE
    assert f"aiokoa listening on http://127.0.0.1:{port}" in capsys.readouterr().out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []  # the socket was closed


def test_an_address_error_without_a_hint_is_told_as_the_system_tells_it() -> None:
    unreachable = OSError(errno.ENETUNREACH, "Network is unreachable")
    assert reason(unreachable, "10.9.9.9", 80) == "Network is unreachable"
    assert reason(OSError("no details"), "10.9.9.9", 80) == "no details"


@pytest.mark.parametrize(
    ("err", "said"),
    [
        (OverflowError(), "a port is a number from 0 to 65535"),
        (OSError(errno.EACCES, "Permission denied"), "permission denied (ports below 1024 need privileges"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign"), "10.9.9.9 is not an address of this machine"),
    ],
)
def test_known_address_errors_say_what_to_do(err: OSError | OverflowError, said: str) -> None:
    assert reason(err, "10.9.9.9", 80).startswith(said)
