"""A TCP proxy in front of a database server, that a test can take down and bring back.

The application's URL names the proxy's port; ``down()`` cuts every open
connection (the server's sessions end, the clients read end-of-file) and
answers every new one by closing it at once, as a database that has gone away
would; ``up()`` forwards again. ``cut_after_next_message()`` lets the next
message a client sends reach the server and then cuts that client off before
the answer: a network that fails just after a COMMIT left, so the server
commits and the client cannot know. The proxy listens on 127.0.0.1 only, on a
port the system chooses, and its threads stop by themselves within
:data:`STOP_TIMEOUT` when it is closed.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Callable
from types import TracebackType

#: How often idle threads look whether the proxy is closing, in seconds.
POLL_S = 0.1
#: Upper bound for connecting to the server, and for every thread to stop at ``close()``.
STOP_TIMEOUT = 5.0
CHUNK = 64 * 1024


def _cut(*sockets: socket.socket) -> None:
    """End both directions now; the thread that owns the sockets closes them."""
    for sock in sockets:
        with contextlib.suppress(OSError):  # already cut, or never connected
            sock.shutdown(socket.SHUT_RDWR)


def _drain(server: socket.socket) -> None:
    """Say no more, and drop what the server answers until it ends the session."""
    server.shutdown(socket.SHUT_WR)
    server.settimeout(STOP_TIMEOUT)
    while server.recv(CHUNK):
        pass


class DatabaseProxy:
    """Forwards ``127.0.0.1:<port>`` to ``host:port`` while up; cuts everything while down."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_S)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._serving = True
        self._closing = threading.Event()
        self._open: set[tuple[socket.socket, socket.socket]] = set()
        self._cut_after_next = False
        self._threads: list[threading.Thread] = []
        #: Connections forwarded, and connections refused while down.
        self.forwarded = 0
        self.refused = 0
        self._start(self._accept_loop)

    def __enter__(self) -> DatabaseProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- what a test does --------------------------------------------------

    def down(self) -> None:
        """The database goes away: open connections are cut, new ones refused."""
        with self._lock:
            self._serving = False
            cut, self._open = self._open, set()
        for pair in cut:
            _cut(*pair)

    def up(self) -> None:
        """The database is back: new connections are forwarded again."""
        with self._lock:
            self._serving = True

    def cut_after_next_message(self) -> None:
        """The next bytes a client sends reach the server; then that client is cut, unanswered.

        The server's answer is read and dropped until the server ends the
        session, and only then is the client cut: what the message asked for
        (a COMMIT) is done by the time the client learns it has lost the answer.
        """
        with self._lock:
            self._cut_after_next = True

    def close(self) -> None:
        """Cut everything and stop every thread; raise if one does not stop in time."""
        self._closing.set()
        self._threads[0].join(STOP_TIMEOUT)  # the accept loop: no new connection after this
        self.down()
        for thread in self._threads:
            thread.join(STOP_TIMEOUT)
        self._listener.close()
        running = [thread.name for thread in self._threads if thread.is_alive()]
        assert not running, f"proxy threads still running after {STOP_TIMEOUT} s: {running}"

    # --- the threads -------------------------------------------------------

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.name = f"db-proxy-{self.port}-{len(self._threads)}"
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.setblocking(True)
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        if not self._is_serving():
            client.close()  # the server never hears of it
            return
        try:
            server = socket.create_connection(self._target, timeout=STOP_TIMEOUT)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        if self._register(client, server):
            self._start(self._forward, client, server)
        else:  # went down while connecting
            client.close()
            server.close()

    def _is_serving(self) -> bool:
        with self._lock:
            if not (self._serving and not self._closing.is_set()):
                self.refused += 1
                return False
            return True

    def _register(self, client: socket.socket, server: socket.socket) -> bool:
        with self._lock:
            if not (self._serving and not self._closing.is_set()):
                self.refused += 1
                return False
            self._open.add((client, server))
            self.forwarded += 1
            return True

    def _take_cut_after_next(self) -> bool:
        with self._lock:
            armed, self._cut_after_next = self._cut_after_next, False
            return armed

    def _forward(self, client: socket.socket, server: socket.socket) -> None:
        """Copy bytes both ways until either side, or ``down()``, ends the connection."""
        peer = {client: server, server: client}
        try:
            while not self._closing.is_set():
                readable, _, _ = select.select(list(peer), [], [], POLL_S)
                for source in readable:
                    chunk = source.recv(CHUNK)
                    if not chunk:
                        return
                    peer[source].sendall(chunk)
                    if source is client and self._take_cut_after_next():
                        _drain(server)  # the server has done what it was asked...
                        return  # ...before the client is cut (finally), unanswered
        except OSError:
            return  # cut while reading or writing
        finally:
            with self._lock:
                self._open.discard((client, server))
            _cut(client, server)
            client.close()
            server.close()
