"""The embedded PostgreSQL of `make demo` and `make test` (config/embedded_db), in a cluster of its own.

Each "process" here is a real one that joins the server the way a Django process does on its first
connection, and leaves at exit (SIGTERM exits normally) or is killed.
"""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from config import embedded_db

REPO = Path(__file__).resolve().parents[2]

USER = """
import signal, sys, time
from config import embedded_db
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leave through atexit, as Django commands exit
embedded_db.server(sys.argv[1]).join()
print("joined", flush=True)
time.sleep(600)
"""


def start_user(data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "backend")}
    return subprocess.Popen(
        [sys.executable, "-c", USER, str(data_dir)], env=env, stdout=subprocess.PIPE, text=True
    )


def wait_joined(process: subprocess.Popen) -> None:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "joined", f"exited with {process.wait(30)}"


def stop_user(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


def query(data_dir: Path, sql: str):
    handle = embedded_db.server(data_dir)
    with psycopg.connect(
        host=str(handle.socket_dir), port=embedded_db.PORT, user="postgres", dbname="postgres"
    ) as conn:
        return conn.execute(sql).fetchone()[0]


def working_in(data_dir: Path) -> list[int]:
    """Live processes whose working folder is the cluster's: the postmaster and all its children."""
    return [pid for pid in embedded_db._pids() if embedded_db._is_our_postgres(pid, data_dir.resolve())]


@pytest.fixture(scope="module")
def cluster():
    # Not pytest's tmp_path: as root the server runs as another user, who may not enter that (0700).
    # One cluster for the module (initdb once); every test leaves it stopped.
    folder = Path(tempfile.mkdtemp(prefix="chuanxi-embedded-db-"))
    folder.chmod(0o755)
    yield folder / "postgres"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def data_dir(cluster):
    yield cluster
    for pid in working_in(cluster):  # whatever a failed test left running
        os.kill(pid, signal.SIGKILL)


def test_it_runs_while_any_process_uses_it_and_stops_after_the_last(data_dir):
    # Two processes at once (on a fresh checkout, the first test: one creates the cluster).
    first, second = start_user(data_dir), start_user(data_dir)
    wait_joined(first)
    wait_joined(second)
    assert query(data_dir, "SELECT 1") == 1

    stop_user(first)
    assert query(data_dir, "SELECT 1") == 1, "stopped while the second process still used it"

    stop_user(second)
    assert not embedded_db.server(data_dir).accepting()
    assert not (data_dir / "postmaster.pid").exists()
    assert working_in(data_dir) == []


def test_a_run_killed_with_its_server_leaves_nothing_that_blocks_the_next(data_dir):
    crashed = start_user(data_dir)
    wait_joined(crashed)
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    crashed.kill()
    crashed.wait(30)
    assert (data_dir / "postmaster.pid").exists()

    again = start_user(data_dir)
    wait_joined(again)
    assert query(data_dir, "SELECT 1") == 1
    stop_user(again)
    assert working_in(data_dir) == []


def test_a_process_whose_server_was_killed_still_leaves_promptly(data_dir):
    user = start_user(data_dir)
    wait_joined(user)
    os.kill(int((data_dir / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)

    stop_user(user)  # no minute-long wait for a dead server to remove its pid file

    again = start_user(data_dir)
    wait_joined(again)
    assert query(data_dir, "SELECT 1") == 1
    stop_user(again)


def test_a_killed_user_does_not_keep_the_server_up_forever(data_dir):
    """Its lock dies with it: the next process that leaves last stops the server."""
    killed = start_user(data_dir)
    wait_joined(killed)
    killed.kill()
    killed.wait(30)
    assert query(data_dir, "SELECT 1") == 1  # nobody stopped it

    later = start_user(data_dir)
    wait_joined(later)
    stop_user(later)
    assert not embedded_db.server(data_dir).accepting()


def test_it_listens_only_on_a_socket_nobody_else_can_reach_and_never_as_root(data_dir):
    user = start_user(data_dir)
    wait_joined(user)
    try:
        assert query(data_dir, "SHOW listen_addresses") == ""  # no TCP port: no collision, no exposure
        assert Path(query(data_dir, "SHOW unix_socket_directories")) == data_dir.resolve()
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        owner = data_dir.stat().st_uid
        expected = pwd.getpwnam(embedded_db.SYSTEM_USER).pw_uid if os.geteuid() == 0 else os.geteuid()
        assert owner == expected != 0
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        assert os.stat(f"/proc/{postmaster}").st_uid == expected
    finally:
        stop_user(user)
