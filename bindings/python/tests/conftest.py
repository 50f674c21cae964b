"""Shared fixtures: a ``chatwire-mock`` process for the whole session.

The mock binary is ``$CHATWIRE_MOCK`` (scripts/test-ffi sets it), else ``chatwire-mock`` in the
repository's ``target/debug``. It prints ``listening on http://HOST:PORT`` first.
"""

import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


def start_mock(*args):
    binary = os.environ.get("CHATWIRE_MOCK") or str(REPO / "target" / "debug" / "chatwire-mock")
    proc = subprocess.Popen(
        [binary, "--port", "0", "--token-delay-ms", "1", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on "), f"unexpected first line from {binary}: {line!r}"
    return proc, line.removeprefix("listening on ")


@pytest.fixture(scope="session")
def mock_url():
    proc, url = start_mock()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def token_mock_url():
    proc, url = start_mock("--bearer-token", "t-1")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
