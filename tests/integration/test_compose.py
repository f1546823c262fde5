"""docker-compose.yml is checked against the settings, so a renamed variable cannot silently stop working.

No Docker is needed: the file is parsed with PyYAML (which resolves the `<<: *app` merge keys the
same way Compose does).
"""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SETTINGS_DIR = REPO / "backend" / "config" / "settings"
APP_SERVICES = ("web", "worker", "worker-notifications", "worker-photos", "beat")
WORKERS = ("worker", "worker-notifications", "worker-photos")
# Read by Django and Celery themselves rather than by the settings modules.
READ_OUTSIDE_SETTINGS = {"DJANGO_SETTINGS_MODULE"}
ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|env_bool|env_list|os\.environ\[)\(?\s*["']([A-Z0-9_]+)["']"""
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def settings_variables() -> set[str]:
    names: set[str] = set()
    for path in SETTINGS_DIR.glob("*.py"):
        names.update(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: str(value) for name, value in env.items()}


def _command(service: dict) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def _mounts(service: dict) -> dict[str, str]:
    """volume or host path -> container path, for both the short and the long syntax."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[source] = target
    return mounts


def test_the_settings_regex_finds_the_variables_we_know_about(settings_variables):
    # Guards the guard: if the settings change how they read the environment, this fails first.
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "MEDIA_ROOT",
        "DEBUG",
    } <= settings_variables


def test_all_services_are_defined(compose):
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(compose["services"])


def test_application_services_run_the_project_entry_points(compose):
    services = compose["services"]
    assert "gunicorn" in _command(services["web"])
    assert "config.wsgi" in _command(services["web"])
    assert re.search(r"celery -A config\.celery_app worker\b", _command(services["worker"]))
    beat = _command(services["beat"])
    assert re.search(r"celery -A config\.celery_app beat\b", beat)
    assert "django_celery_beat.schedulers:DatabaseScheduler" in beat


def test_migrations_run_before_the_application_starts(compose):
    services = compose["services"]
    assert "migrate" in _command(services["migrate"])
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name


def test_every_variable_set_for_the_application_is_read_by_the_settings(compose, settings_variables):
    known = settings_variables | READ_OUTSIDE_SETTINGS
    for name in (*APP_SERVICES, "migrate"):
        env = _environment(compose["services"][name])
        unknown = set(env) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which no settings module reads"
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        for required in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT"):
            assert env.get(required), f"{name} does not set {required}"


def test_the_application_talks_to_the_compose_database_and_redis(compose):
    env = _environment(compose["services"]["web"])
    assert re.match(r"postgres://[^@]+@postgres:5432/", env["DATABASE_URL"])
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    # The secret must come from .env: no default that a careless deployment would run with.
    assert "${SECRET_KEY:?" in env["SECRET_KEY"]


def test_required_variables_are_documented_in_env_example(compose):
    raw = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", raw))
    assert required
    assert required <= documented


def test_health_checks(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "web"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "ping" in str(services["redis"]["healthcheck"]["test"])
    assert "/healthz" in str(services["web"]["healthcheck"]["test"])


def test_application_waits_for_healthy_database_and_redis(compose):
    for name in (*APP_SERVICES, "migrate"):
        depends_on = compose["services"][name]["depends_on"]
        for dependency in ("postgres", "redis"):
            assert depends_on[dependency]["condition"] == "service_healthy", f"{name} -> {dependency}"


def test_uploads_live_on_a_named_volume_shared_by_web_and_worker(compose):
    volumes = compose.get("volumes") or {}
    for name in ("web", "worker", "worker-photos"):
        service = compose["services"][name]
        media_root = _environment(service)["MEDIA_ROOT"]
        mounted_at = {target: source for source, target in _mounts(service).items()}
        assert media_root in mounted_at, f"{name} does not mount a volume at MEDIA_ROOT={media_root}"
        assert mounted_at[media_root] in volumes, f"{name}: {mounted_at[media_root]} is not a named volume"
    web_source = {t: s for s, t in _mounts(compose["services"]["web"]).items()}
    worker_source = {t: s for s, t in _mounts(compose["services"]["worker"]).items()}
    media_root = _environment(compose["services"]["web"])["MEDIA_ROOT"]
    assert web_source[media_root] == worker_source[media_root]


def test_the_image_runs_the_backend(compose):
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in dockerfile
    assert "COPY backend/" in dockerfile
    assert "WORKDIR /app/backend" in dockerfile
    assert "pip install ." in dockerfile
    for name in APP_SERVICES:
        assert compose["services"][name]["build"] == "."


def test_every_queue_has_exactly_one_kind_of_worker(compose):
    """Photos, notifications and the rest each have their own worker, so a photo backlog never
    delays a reminder; a queue nobody consumes would silently stop its jobs."""
    from django.conf import settings

    consumed: dict[str, list[str]] = {}
    for name in WORKERS:
        command = _command(compose["services"][name])
        assert re.search(r"celery -A config\.celery_app worker\b", command), name
        queues = re.search(r"--queues=(\S+)", command)
        assert queues, f"{name} names no queue (it would take every queue)"
        for queue in queues.group(1).split(","):
            consumed.setdefault(queue, []).append(name)
        assert re.search(r"--prefetch-multiplier=\d+", command), f"{name}: prefetch not chosen for its queue"
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert declared == {"celery", "notifications", "photos"}
    assert set(consumed) == declared
    assert all(len(workers) == 1 for workers in consumed.values()), consumed
    assert settings.CELERY_TASK_ROUTES["notifications.*"]["queue"] == "notifications"
    assert settings.EVIDENCE_QUEUE == "photos"


def test_the_visibility_timeout_outlasts_every_countdown_and_job():
    from django.conf import settings

    from notifications.jobs import RETRY

    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(
        "visibility_timeout", settings.CELERY_VISIBILITY_TIMEOUT
    )
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    longest = max(
        RETRY["retry_backoff_max"],
        settings.NOTIFICATIONS_RETRY_MAX_SECONDS,
        300,  # evidence.jobs.MAX_BACKOFF_SECONDS
        settings.CELERY_TASK_TIME_LIMIT,
        900,  # evidence.remove_orphaned_uploads' own time limit
    )
    assert timeout > longest
