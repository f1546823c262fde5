import shutil

import pytest


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Every test stores its files in a folder of its own, removed afterwards."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """Photo ids the request path hands to Celery after commit; no broker is involved.

    Tests run the job by calling it (tests/evidence/helpers.process_pending) or start a real worker
    (test_end_to_end.py, which does not use this list).
    """
    calls: list[int] = []
    monkeypatch.setattr("evidence.services.enqueue_processing", lambda ids: calls.extend(ids))
    return calls
