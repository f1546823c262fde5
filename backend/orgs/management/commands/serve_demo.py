"""`manage.py serve_demo`: the whole system on one laptop, started by `make demo`.

A Celery worker and beat run as child processes (logs in .demo/logs/), the development server
runs in the foreground. Ctrl-C or SIGTERM stops all three. Without REDIS_URL the broker is kombu's
filesystem transport in .demo/broker, so nothing but Python is needed.
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from orgs import demo_data
from orgs.management.commands.load_demo import accounts_rows, format_table

STOP_TIMEOUT = 10  # seconds a child gets for a warm shutdown before it is killed


class Command(BaseCommand):
    help = "Run the demo: a Celery worker and beat in the background and the development server on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
        parser.add_argument(
            "--host",
            default=os.environ.get("DEMO_HOST") or "127.0.0.1",
            help="Address to listen on (DEMO_HOST); 127.0.0.1 keeps the demo off the network.",
        )
        parser.add_argument(
            "--no-celery", action="store_true", help="Only the web server (no worker, no beat)."
        )

    def handle(self, *args, port: int, host: str, no_celery: bool, **options):
        demo_dir = Path(settings.DEMO_DIR)
        log_dir = demo_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_broker()

        children: list[tuple[str, subprocess.Popen, Path]] = []
        stopping = threading.Event()
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            if not no_celery:
                for name, argv in (
                    (
                        "worker",
                        ["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
                    ),
                    ("beat", ["beat", "--loglevel=INFO"]),
                ):
                    children.append(self._start(name, argv, demo_dir, log_dir))
                threading.Thread(target=_watch, args=(children, stopping, self.stderr), daemon=True).start()
            self._banner(port, children)
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            stopping.set()
            signal.signal(signal.SIGTERM, previous_sigterm)
            for name, process, _log in children:
                _stop(name, process, self.stdout)

    def _prepare_broker(self) -> None:
        """kombu's filesystem transport expects its folders to exist; a fresh clone has none."""
        if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
            return
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)

    def _start(
        self, name: str, argv: list[str], demo_dir: Path, log_dir: Path
    ) -> tuple[str, subprocess.Popen, Path]:
        log_path = log_dir / f"{name}.log"
        env = os.environ.copy()
        # The children run in .demo/ (the filesystem broker keeps its exchange tables in the working
        # directory), with backend/ on the path for `config.celery_app`.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(settings.BACKEND_DIR), env.get("PYTHONPATH")]))
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                [sys.executable, "-m", "celery", "-A", "config.celery_app", *argv],
                cwd=demo_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own session: a terminal Ctrl-C reaches only us, and we stop the children once, in order.
                start_new_session=True,
            )
        return name, process, log_path

    def _banner(self, port: int, children: list[tuple[str, subprocess.Popen, Path]]) -> None:
        base = f"http://127.0.0.1:{port}"
        specs = [spec for spec in demo_data.accounts() if spec.username in demo_data.HIGHLIGHTED]
        lines = [
            "",
            "传习 Chuanxi demo",
            f"  The web app (log in below):       {base}/",
            f"  Admin (tree, people, schedules):  {base}/admin/",
            f"  API documentation (Swagger UI):   {base}/api/docs/",
            f"  Health check:                     {base}/healthz",
            "",
            "Demo accounts (all of them: `manage.py load_demo`; street_<pinyin>, worker_<code suffix>;"
            " or log in with the mobile number):",
            format_table(accounts_rows(specs)),
            f"Password: {demo_data.demo_password()}",
            "",
        ]
        for name, process, log_path in children:
            lines.append(f"  Celery {name}: pid {process.pid}, log {log_path}")
        if children:
            lines.append(f"  Broker: {settings.CELERY_BROKER_URL.split('//')[0]}// (Ctrl-C stops everything)")
        lines.append("")
        self.stdout.write("\n".join(lines))


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _watch(children, stopping: threading.Event, stderr) -> None:
    """Say so at once when a child dies, rather than leaving jobs silently unprocessed."""
    reported: set[str] = set()
    while not stopping.wait(2):
        for name, process, log_path in children:
            if name not in reported and process.poll() is not None:
                reported.add(name)
                stderr.write(f"Celery {name} exited with code {process.returncode}; see {log_path}")


def _stop(name: str, process: subprocess.Popen, stdout) -> None:
    if process.poll() is None:
        process.terminate()  # SIGTERM: Celery's warm shutdown, the running job finishes
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    stdout.write(f"Stopped Celery {name} (pid {process.pid}).")
