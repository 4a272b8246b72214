"""Bodies sent over a real socket, chunked, to werkzeug's threaded server and to ``serve``.

A server reads a chunked body itself and hands the app a stream with no
length: the limit and the JSON checks must hold there as with a Content-Length.
``serve`` (gunicorn) runs on the chosen backend's test database, so a body it
accepts is written where the test can see it, and emptied after each test.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from alchemy_patterns.db import Database
from alchemy_patterns.web.app import MAX_BODY_BYTES, Api
from tests.serving import serving
from tests.web.test_problems import PROBLEM, registration

#: Long enough for a 5 MB body on a busy machine; a server that hangs fails the test.
TIMEOUT_S = 30.0
CHUNK = 16 * 1024
TOO_LARGE = f"the body is larger than the limit of {MAX_BODY_BYTES} bytes"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: Any


def chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), CHUNK):
        yield body[start : start + CHUNK]


def post_chunked(port: int, path: str, body: bytes) -> Answer:
    """POST ``body`` with ``Transfer-Encoding: chunked`` on a new connection; the answer.

    A server may answer before it has read the whole body and close the
    connection (gunicorn does past 64 KiB): the rest of the body then cannot
    be sent, but the answer already came, and is read.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(
                "POST",
                path,
                body=chunks(body),
                headers={"Content-Type": "application/json"},
                encode_chunked=True,
            )
        response = connection.getresponse()
        return Answer(response.status, response.getheader("Content-Type", ""), _json(response))
    finally:
        connection.close()


def _json(response: http.client.HTTPResponse) -> Any:
    return json.loads(response.read())


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture(scope="session")
def werkzeug_port(_shared_app: Api) -> Iterator[int]:
    """The app under werkzeug's threaded development server, on a free port."""
    server = make_server("127.0.0.1", 0, _shared_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-server")
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT_S)


@pytest.fixture(scope="session")
def gunicorn_port(
    _app_schema: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """``alchemy-patterns serve`` on the test database (migrated already), on a free port."""
    args = ("--database-url", database_url, "serve", "--no-migrate", "--workers", "1")
    with serving(tmp_path_factory.mktemp("serve"), *args, "--threads", "2") as server:
        yield server.port


@pytest.fixture(params=["werkzeug", "gunicorn"])
def port(
    request: pytest.FixtureRequest, werkzeug_port: int, gunicorn_port: int, app_db: Database
) -> int:
    """The port of each server in turn; the tables are emptied after the test."""
    return werkzeug_port if request.param == "werkzeug" else gunicorn_port


def test_a_5_mb_chunked_body_is_a_413_naming_the_limit(port: int) -> None:
    answer = post_chunked(port, "/auth/register", registration(5_000_000))

    assert answer.status == 413
    assert answer.content_type == PROBLEM
    assert answer.body["detail"] == TOO_LARGE


def test_after_refusing_a_chunked_body_the_server_answers_the_next_connection(port: int) -> None:
    post_chunked(port, "/auth/register", registration(5_000_000))

    assert get(port, "/healthz") == 200
    assert post_chunked(port, "/auth/register", registration(1024)).status == 201


def test_a_1_kb_chunked_body_is_served(port: int) -> None:
    answer = post_chunked(port, "/auth/register", registration(1024))

    assert answer.status == 201
    assert answer.body["username"] == "ada"


def test_chunked_json_with_a_syntax_error_is_a_400_naming_line_and_column(port: int) -> None:
    answer = post_chunked(port, "/auth/register", b'{"username":\n\n  "ada" "x"}')

    assert answer.status == 400
    assert answer.content_type == PROBLEM
    assert answer.body["detail"] == (
        "the body is not valid JSON: Expecting ',' delimiter at line 3, column 9"
    )


def test_a_chunk_of_bad_framing_is_a_400_not_a_500(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.putrequest("POST", "/auth/register")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        connection.send(b"zz\r\n{}\r\n0\r\n\r\n")  # "zz" is no chunk size
        response = connection.getresponse()

        assert response.status == 400
        assert "the chunked body could not be read" in _json(response)["detail"]
    finally:
        connection.close()
