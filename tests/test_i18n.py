"""Chinese first: every message has a translation, the compiled catalogue matches, and users see it."""

import gettext
from pathlib import Path

import pytest

from tests.conftest import login
from tests.tasks.helpers import assignment_of, published_task

LOCALE = Path(__file__).resolve().parent.parent / "backend" / "locale" / "zh_Hans" / "LC_MESSAGES"


def _po_entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    msgid = None
    for line in (LOCALE / "django.po").read_text(encoding="utf-8").splitlines():
        if line.startswith("#, fuzzy") and entries:
            pytest.fail(f"fuzzy translation after {list(entries)[-1]!r}")
        if line.startswith('msgid "'):
            msgid = line[7:-1]
        elif line.startswith(('msgstr "', 'msgstr[0] "')) and msgid:
            entries[msgid] = line.split('"', 1)[1][:-1]
            msgid = None
    return entries


def test_every_message_is_translated_to_chinese():
    untranslated = [msgid for msgid, msgstr in _po_entries().items() if not msgstr]
    assert untranslated == []


def test_the_compiled_catalogue_is_up_to_date():
    with open(LOCALE / "django.mo", "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    missing = [
        msgid
        for msgid, msgstr in _po_entries().items()
        if "\\" not in msgid and msgstr != msgid and catalogue.gettext(msgid) == msgid
    ]
    assert missing == [], "run `make messages` (compilemessages) after editing django.po"


@pytest.mark.django_db
def test_a_conflict_reads_in_chinese_by_default_and_in_english_on_request(api, world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}]
    )
    assignment = assignment_of(task, world["S1"])
    login(api, people["district_officer"])
    approve = {"decision": "approve"}
    zh = api.post(f"/api/v1/assignments/{assignment.pk}/review/", approve, format="json")
    assert zh.status_code == 409
    assert "待签收" in zh.json()["message"]
    en = api.post(
        f"/api/v1/assignments/{assignment.pk}/review/", approve, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "pending" in en.json()["message"]


def _templatized(backend: Path, folder: Path) -> list[str]:
    """Each template as the pseudo-Python Django's makemessages feeds to xgettext (django.utils.
    translation.template.templatize: {% translate %}, {% blocktranslate %} with plurals and contexts)."""
    from django.utils.translation.template import templatize

    written = []
    for path in sorted(backend.rglob("templates/**/*.html")):
        out = folder / (str(path.relative_to(backend)).replace("/", "__") + ".py")
        out.write_text(templatize(path.read_text(encoding="utf-8"), origin=str(path)), encoding="utf-8")
        written.append(str(out))
    return written


def test_every_message_in_the_code_and_the_templates_is_in_the_catalogue(tmp_path):
    """A new gettext string or template text without a Chinese translation fails here, not in front
    of a user. The extraction is makemessages' own: Python files as they are, templates templatized."""
    import os
    import shutil
    import subprocess

    xgettext = shutil.which("xgettext")
    if xgettext is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext (GNU gettext) is needed to check the translations")
        pytest.skip("xgettext (GNU gettext) is not installed")
    backend = LOCALE.parents[2]
    sources = sorted(
        str(path)
        for path in backend.rglob("*.py")
        if "migrations" not in path.parts and "locale" not in path.parts
    )
    templates = _templatized(backend, tmp_path)
    assert len(templates) >= 10, "the pages' templates were not found"
    out = tmp_path / "code.po"
    keywords = [
        "_",
        "gettext",
        "gettext_lazy",
        "gettext_noop",
        "ngettext:1,2",
        "ngettext_lazy:1,2",
        "pgettext:1c,2",
        "pgettext_lazy:1c,2",
        "npgettext:1c,2,3",
        "npgettext_lazy:1c,2,3",
    ]
    subprocess.run(
        [xgettext, "--language=Python", "--from-code=UTF-8", "--no-wrap", "--no-location", "-o", str(out)]
        + [f"--keyword={k}" for k in keywords]
        + sources
        + templates,
        check=True,
    )
    in_code = {
        line[7:-1] for line in out.read_text(encoding="utf-8").splitlines() if line.startswith('msgid "')
    }
    assert "Username or mobile number" in in_code and "Page %(number)s of %(pages)s" in in_code
    translated = {msgid for msgid, msgstr in _po_entries().items() if msgstr}
    missing = sorted(msgid for msgid in in_code - translated if msgid)
    assert missing == [], "run `make messages` and translate these in backend/locale/zh_Hans"
