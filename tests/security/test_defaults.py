"""Safe defaults: the demo is no way in, errors under /api/ are JSON, docs need a login, a CSP everywhere."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _local_settings(tmp_path, **env) -> dict:
    """config.settings.local loaded in a fresh interpreter whose checkout's .demo is tmp_path."""
    code = (
        "import json, sys; sys.path.insert(0, 'backend');"
        "import config.settings.base as base; from pathlib import Path;"
        f"base.DEMO_DIR = Path({str(tmp_path)!r});"
        "import config.settings.local as s;"
        "print(json.dumps({'key': s.SECRET_KEY, 'debug': s.DEBUG, 'docs': s.API_DOCS_PUBLIC}))"
    )
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    return json.loads(out.stdout)


def test_the_demo_makes_a_signing_key_of_its_own_and_keeps_it(tmp_path):
    first = _local_settings(tmp_path / "one")
    again = _local_settings(tmp_path / "one")
    other = _local_settings(tmp_path / "two")

    assert len(first["key"]) >= 50
    assert first["key"] == again["key"]  # sessions survive a restart
    assert first["key"] != other["key"]  # no key shared between checkouts
    assert (tmp_path / "one" / "secret_key").stat().st_mode & 0o077 == 0
    assert "local-development-only" not in (REPO / "backend/config/settings/local.py").read_text()


def test_the_demo_shows_debug_pages_only_when_asked(tmp_path):
    assert _local_settings(tmp_path)["debug"] is False
    assert _local_settings(tmp_path, DEBUG="1")["debug"] is True


def test_the_demo_listens_on_localhost_unless_told(monkeypatch):
    from orgs.management.commands import serve_demo

    parser = serve_demo.Command().create_parser("manage.py", "serve_demo")
    assert parser.parse_args([]).host == "127.0.0.1"
    monkeypatch.setenv("DEMO_HOST", "192.168.1.20")
    assert serve_demo.Command().create_parser("manage.py", "serve_demo").parse_args([]).host == "192.168.1.20"


def test_an_unknown_api_address_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "未找到，或您无权访问。"}


def test_a_server_error_under_api_is_json_without_details(client, people, monkeypatch):
    from orgs import selectors

    def broken(**kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(selectors, "me_memberships", broken)
    client.force_login(people["street_officer"])
    client.raise_request_exception = False

    response = client.get("/api/v1/me/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "hunter2" not in response.content.decode()
    assert response.json()["message"]


def test_pages_outside_the_api_keep_django_errors(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_schema_and_swagger_ui_need_a_login(client, api, people):
    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/docs/").status_code in (401, 403)

    client.force_login(people["community_worker"])
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_every_response_carries_a_content_security_policy(client, people):
    for path in ("/api/v1/me/", "/admin/login/", "/no-such-page/", "/healthz"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-eval" not in policy


def test_swagger_ui_needs_no_inline_script(client, people):
    client.force_login(people["community_worker"])

    page = client.get("/api/docs/").content.decode()

    assert "<script>" not in page.replace(" ", "")
