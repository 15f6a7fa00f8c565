"""A real PostgreSQL server for the tests (and the bench), from Debian's binaries.

``PostgresServer()`` runs ``initdb`` in a new temporary folder, starts ``postgres`` on a free
port of loopback with its unix socket in that folder, waits until it answers, checks
that the server answering is the process it started (its pid file), and on exit stops it
and removes the folder. PostgreSQL refuses to run as root: as root, it runs as the
``postgres`` user (which Debian's package creates), owning the folder. (The folder is
not one of pytest's: those are private to the user running the tests.)
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

MISSING = (
    "PostgreSQL is not installed: run scripts/ensure_postgres.sh "
    "(apt-get install -y postgresql) to run the PostgreSQL tests"
)
USER = "stepfn"


def binaries() -> Path | None:
    """The folder of Debian's PostgreSQL binaries (the newest version), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A throwaway PostgreSQL server in a folder (a context manager).

    Args:
        durable: keep fsync and synchronous commits on (as a real deployment would);
            tests leave them off, which only matters if the machine crashes.
    """

    def __init__(self, *, durable: bool = False) -> None:
        found = binaries()
        if found is None:
            raise RuntimeError(MISSING)
        self.bin = found
        self.folder = Path(tempfile.mkdtemp(prefix="stepfn-pg-"))
        self.data = self.folder / "data"
        self.durable = durable
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._as: dict[str, Any] = {}

    def url(self, database: str = "postgres") -> str:
        """The libpq URL of a database of this server."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> PostgresServer:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            self._as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        log = self.folder / "initdb.log"
        with log.open("wb") as out:
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "-D", str(self.data),
                    "-U", USER,
                    "-A", "trust",
                    "-E", "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True, stdout=out, stderr=subprocess.STDOUT, **self._as,
            )  # fmt: skip
        self.port = _free_port()
        options = [] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        self._log = (self.folder / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D", str(self.data),
                "-p", str(self.port),
                "-h", "127.0.0.1",
                "-k", str(self.folder),
                "-c", "max_connections=200",
                *options,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            **self._as,
        )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        """Until the server accepts connections, and its pid file names our process."""
        import psycopg

        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                log = (self.folder / "server.log").read_text(errors="replace")
                raise RuntimeError(f"postgres exited ({self.process.returncode}): {log}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        if pid != self.process.pid:
            raise RuntimeError(f"the server on port {self.port} is pid {pid}, not ours")

    def create_database(self, name: str) -> str:
        """A new database of this server; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (a fast shutdown; killed if it lingers)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_shared: PostgresServer | None = None
_shared_url: str | None = None
_schemas = itertools.count(1)


def shared_url() -> str:
    """The test database of one PostgreSQL server per test process, started on first
    use and stopped when the process exits (the store, engine and service suites share
    it). Skips the calling test, saying why, when PostgreSQL is not installed."""
    global _shared, _shared_url
    if _shared_url is None:
        if binaries() is None:
            import pytest

            pytest.skip(MISSING)
        server = PostgresServer()
        server.__enter__()
        atexit.register(server.__exit__, None, None, None)
        _shared = server
        _shared_url = server.create_database("stepfn_tests")
    return _shared_url


def schema_url() -> str:
    """A store URL in a schema of its own of the shared test database."""
    return f"{shared_url()}?schema=t{next(_schemas)}"


def store_url(kind: str, folder: Path) -> str:
    """The store URL the engine tests run on, by backend: ``memory`` (SQLite in
    memory), ``sqlite`` (a file in ``folder``) or ``postgresql`` (a fresh schema)."""
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return str(folder / "stepfn.db")
    if kind == "postgresql":
        return schema_url()
    raise ValueError(f"no store kind {kind!r}")
