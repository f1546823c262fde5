"""The notice's attachments: allowed by their bytes, size-limited, downloaded only by those who see the task."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks import services
from tasks.models import TaskAttachment, TaskEvent
from tests.conftest import login
from tests.tasks.helpers import make_task, published_task

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


def _xlsx() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    book = Workbook()
    book.active["A1"] = "台账"
    book.save(buffer)
    return buffer.getvalue()


def _upload(api, task, name: str, content: bytes):
    return api.post(
        f"/api/v1/tasks/{task.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


@pytest.fixture
def task(world, people):
    return published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("通知.pdf", PDF, "application/pdf"),
        ("photo.png", PNG, "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.webp", WEBP, "image/webp"),
        ("方案.docx", _zip("[Content_Types].xml", "word/document.xml"), services.DOCX),
        ("台账.xlsx", _xlsx(), services.XLSX),
        ("named-wrong.txt", PDF, "application/pdf"),  # the bytes decide, not the name
    ],
)
def test_allowed_files_are_recognised_by_their_bytes(
    api, people, task, name, content, content_type, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    login(api, people["district_officer"])
    response = _upload(api, task, name, content)
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == content_type
    assert response.json()["original_name"] == name
    stored = TaskAttachment.objects.get()
    assert name not in stored.file.name  # stored under a random name
    assert TaskEvent.objects.filter(task=task, verb="attachment_added").count() == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("evil.pdf", b"MZ\x90\x00 not a pdf"),
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("fake.docx", _zip("[Content_Types].xml", "payload.bin")),
        ("broken.xlsx", b"PK\x03\x04 truncated"),
    ],
)
def test_other_files_are_refused(api, people, task, name, content, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    login(api, people["district_officer"])
    response = _upload(api, task, name, content)
    assert response.status_code == 400
    assert "PDF" in response.json()["message"]
    assert not TaskAttachment.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_files_over_the_limit_are_refused(api, people, task, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.TASK_ATTACHMENT_MAX_BYTES = 1024
    login(api, people["district_officer"])
    response = _upload(api, task, "big.pdf", PDF + b"0" * 2048)
    assert response.status_code == 413
    assert "MB" in response.json()["message"]
    assert not TaskAttachment.objects.exists()


def test_download_follows_who_sees_the_task(api, world, people, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    login(api, people["district_officer"])
    url = _upload(api, task, "通知.pdf", PDF).json()["url"]
    for role, expected in (("community_worker", 200), ("street_viewer", 200), ("other_admin", 404)):
        login(api, people[role])
        response = api.get(url)
        assert response.status_code == expected, role
        if expected == 200:
            assert b"".join(response.streaming_content) == PDF
            assert response["Content-Type"] == "application/pdf"
            assert "attachment" in response["Content-Disposition"]
    api.force_authenticate(user=None)
    assert api.get(url).status_code in (401, 403)


def test_only_the_issuer_side_adds_or_removes(api, world, people, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    login(api, people["community_worker"])
    assert _upload(api, task, "通知.pdf", PDF).status_code == 403
    login(api, people["district_officer"])
    url = _upload(api, task, "通知.pdf", PDF).json()["url"]
    login(api, people["community_worker"])
    assert api.delete(url).status_code == 403
    login(api, people["district_admin"])
    assert api.delete(url).status_code == 204
    assert not TaskAttachment.objects.exists()
    assert TaskEvent.objects.filter(task=task, verb="attachment_removed").count() == 1


def test_a_draft_can_carry_attachments_but_an_ended_task_cannot(api, world, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    draft = make_task(people["district_officer"], world["A"], [])
    login(api, people["district_officer"])
    assert _upload(api, draft, "通知.pdf", PDF).status_code == 201
    services.task_cancel(actor=people["district_officer"], task=draft)
    assert _upload(api, draft, "通知.pdf", PDF).status_code == 409


def _must_not_parse(*args, **kwargs):
    raise AssertionError("the body was parsed")


@pytest.mark.parametrize(("role", "expected"), [("community_worker", 403), ("other_admin", 404)])
def test_who_may_not_attach_is_refused_before_the_body_is_read(
    api, people, task, settings, tmp_path, monkeypatch, role, expected
):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("rest_framework.parsers.MultiPartParser.parse", _must_not_parse)
    login(api, people[role])
    response = _upload(api, task, "通知.pdf", PDF)
    assert response.status_code == expected
    assert not TaskAttachment.objects.exists()


def test_an_oversized_declared_length_is_413_before_the_body_is_read(
    api, people, task, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path
    settings.TASK_ATTACHMENT_MAX_BYTES = 1024 * 1024
    monkeypatch.setattr("rest_framework.parsers.MultiPartParser.parse", _must_not_parse)
    login(api, people["district_officer"])
    big = PDF + b"0" * (1024 * 1024 + 80 * 1024)  # beyond the limit and the room for the form around it
    response = api.post(
        f"/api/v1/tasks/{task.pk}/attachments/",
        {"file": SimpleUploadedFile("big.pdf", big)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 413
    assert response.json()["message"] == "The file is 1.1 MB; attachments may be at most 1 MB."
    assert response.json()["errors"] == {"file": ["File too large."]}
    assert not TaskAttachment.objects.exists()


def test_a_file_just_under_the_limit_still_fits_with_its_form(
    api, people, task, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path
    settings.TASK_ATTACHMENT_MAX_BYTES = 1024 * 1024
    login(api, people["district_officer"])
    exact = PDF + b"0" * (1024 * 1024 - len(PDF))
    response = _upload(api, task, "通知" * 60 + ".pdf", exact)  # a long name in the part header
    assert response.status_code == 201, response.json()
