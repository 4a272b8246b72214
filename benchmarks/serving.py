"""gunicorn for ``api.py``: our app, the raw baseline or the Flask-SQLAlchemy peer, served alike.

    .venv/bin/python benchmarks/serving.py ours|raw|peer --url URL --port N --counters DIR

All three get the settings of ``alchemy-patterns serve`` (threaded workers,
``preload_app`` off so each worker builds its own app and pool after the
fork), plus ``reuse_port``: each worker then listens on its own socket and the
kernel spreads the connections among them, instead of whichever worker wakes
first taking them. Our app also logs as ``serve`` makes it log (one JSON line
per request on stderr).

Each worker counts the requests it started and finished in a file of its
own, ``DIR/<pid>`` (two 8-byte counters, memory-mapped), so the benchmark
reads from outside, without asking the workers anything, every worker's share
and whether a server is idle (started == finished).
"""

from __future__ import annotations

import argparse
import mmap
import os
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from alchemy_patterns.cli.serve import ServerOptions, gunicorn_settings, log_to_stderr
from common import libpq

APPS = ("ours", "raw", "peer")
COUNTERS = struct.Struct("<QQ")  # started, finished


class WorkerCounter:
    """This process's requests started and finished, in a file others can read at any time."""

    def __init__(self, directory: Path) -> None:
        path, staged = directory / str(os.getpid()), directory / f".{os.getpid()}"
        # Whole or absent: a reader listing the directory meanwhile never sees a short file.
        staged.write_bytes(bytes(COUNTERS.size))
        staged.replace(path)
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), COUNTERS.size)
        self._lock = threading.Lock()
        self._started = self._finished = 0

    def start(self) -> None:
        with self._lock:
            self._started += 1
            COUNTERS.pack_into(self._map, 0, self._started, self._finished)

    def finish(self) -> None:
        with self._lock:
            self._finished += 1
            COUNTERS.pack_into(self._map, 0, self._started, self._finished)


def read_counters(directory: Path) -> dict[int, tuple[int, int]]:
    """Requests started and finished so far, per worker pid."""
    return {
        int(path.name): COUNTERS.unpack(path.read_bytes())
        for path in directory.iterdir()
        if not path.name.startswith(".")
    }


_counter: WorkerCounter | None = None
_counters_dir: Path | None = None


def _open_counter(worker: Any) -> None:
    global _counter
    assert _counters_dir is not None
    _counter = WorkerCounter(_counters_dir)


def _started(worker: Any, req: Any) -> None:
    if _counter is not None:
        _counter.start()


def _finished(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    # Called once the response is written: the client may have it a moment before this.
    if _counter is not None:
        _counter.finish()


class BenchServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, load: Callable[[], Any], name: str, options: ServerOptions) -> None:
        self._load = load
        self.name = name
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        settings = gunicorn_settings(self.options) | {
            "reuse_port": True,
            "proc_name": f"bench-{self.name}",
            "post_worker_init": _open_counter,
            "pre_request": _started,
            "post_request": _finished,
        }
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self._load()


def loader(name: str, url: str, threads: int) -> Callable[[], Any]:
    """What each worker calls after the fork to build its app (and its pool)."""
    if name == "ours":
        from alchemy_patterns.settings import Settings
        from alchemy_patterns.web import create_app

        # Imported here, before the fork, as `serve` does: the workers share the code.
        return lambda: create_app(Settings(database_url=url))
    if name == "raw":
        import raw_api

        return lambda: raw_api.create_app(libpq(url), pool_size=threads)
    import peer_flask_sqlalchemy

    return lambda: peer_flask_sqlalchemy.create_app(url)


def main() -> int:
    global _counters_dir
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("app", choices=APPS)
    options.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    options.add_argument("--port", type=int, required=True)
    options.add_argument("--workers", type=int, default=2)
    options.add_argument("--threads", type=int, default=4)
    options.add_argument("--counters", type=Path, required=True)
    args = options.parse_args()
    _counters_dir = args.counters
    _counters_dir.mkdir(parents=True, exist_ok=True)
    if args.app == "ours":
        log_to_stderr()
    server_options = ServerOptions("127.0.0.1", args.port, args.workers, args.threads)
    BenchServer(loader(args.app, args.url, args.threads), args.app, server_options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
