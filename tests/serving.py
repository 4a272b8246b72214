"""``alchemy-patterns serve`` on a free port, for tests that talk to it over a real socket.

It runs as a user runs it: a subprocess in a directory of the test's own, with
none of this project's settings from the environment.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

STARTUP_S = 60.0
SHUTDOWN_S = 15.0


def clean_env() -> dict[str, str]:
    """The environment of a fresh shell: none of this project's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ALCHEMY_PATTERNS_")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def get(self, path: str) -> int:
        """The status of ``GET path``; 0 while nothing listens or answers within 5 s."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
                status: int = answer.status
                return status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0

    def text(self, path: str) -> str:
        """The body of ``GET path``, which must answer 200."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
            body: bytes = answer.read()
            return body.decode()

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while self.get("/healthz") != 200:
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz within {STARTUP_S} s:\n{self.output()}")
            try:  # the pause between polls; a server that exited is a failure at once
                self.process.wait(timeout=0.1)
                pytest.fail(f"serve exited with {self.process.returncode}:\n{self.output()}")
            except subprocess.TimeoutExpired:
                pass

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        """The exit code after ``how`` (SIGTERM: as an orchestrator stops it), within SHUTDOWN_S."""
        self.process.send_signal(how)
        return self.process.wait(timeout=SHUTDOWN_S)

    def output(self) -> str:
        return self.log.read_text()

    def access_log(self) -> list[dict[str, Any]]:
        """The app's JSON access log, a dict per request."""
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of each request in the app's JSON access log; ids as {id}."""
        return [
            (line["method"], re.sub(r"/\d+", "/{id}", line["path"]), line["status"])
            for line in self.access_log()
            if line["path"] != "/healthz"
        ]


@contextmanager
def serving(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``alchemy-patterns serve`` on a free port, healthy; killed at the end if still running.

    ``env``: settings added to the clean environment (``ALCHEMY_PATTERNS_…``).
    """
    port = free_port()
    command = [sys.executable, "-m", "alchemy_patterns", *args, "--port", str(port)]
    with running(cwd, command, port, clean_env() | (env or {})) as server:
        yield server


@contextmanager
def running(cwd: Path, command: list[str], port: int, env: dict[str, str]) -> Iterator[Server]:
    """``command``, a server listening on ``port``, healthy; killed at the end if still running."""
    log = cwd / "serve.log"
    with log.open("a") as output:  # appends: the master and its workers share the file
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the whole group (gunicorn's workers too) can be killed
        )
    server = Server(process, port, log)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SHUTDOWN_S)
