"""Chinese first: every message has a translation, the compiled catalogue matches, and users see it."""

import gettext
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from tests.conftest import login
from tests.tasks.helpers import assignment_of, published_task

LOCALE = Path(__file__).resolve().parent.parent / "backend" / "locale" / "zh_Hans" / "LC_MESSAGES"
# The translation functions the code and the templatized templates call, with the positions of their
# message arguments (Babel's notation; "c" marks a context): makemessages' own list.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


def _po_entries() -> dict[str, str]:
    """msgid -> msgstr of django.po (the singular of plural entries), read by Babel: wrapped lines and
    escapes come out as the strings the code has."""
    with open(LOCALE / "django.po", "rb") as handle:
        catalog = read_po(handle)
    entries: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        if message.fuzzy:
            pytest.fail(f"fuzzy translation: {msgid!r}")
        msgstr = message.string[0] if isinstance(message.string, tuple) else message.string
        entries[msgid] = msgstr or ""
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
        if msgstr != msgid and catalogue.gettext(msgid) == msgid
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


def _templatized(backend: Path, folder: Path) -> list[Path]:
    """Each template as the pseudo-Python Django's makemessages feeds to its extractor (django.utils.
    translation.template.templatize: {% translate %}, {% blocktranslate %} with plurals and contexts)."""
    from django.utils.translation.template import templatize

    written = []
    for path in sorted(backend.rglob("templates/**/*.html")):
        out = folder / (str(path.relative_to(backend)).replace("/", "__") + ".py")
        pseudo_python = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        # xgettext reads it as a stream; Babel tokenizes it, and the template's indentation is no
        # Python's. The calls stay on their lines (templatize writes one-line string literals).
        out.write_text("\n".join(line.lstrip() for line in pseudo_python.splitlines()), encoding="utf-8")
        written.append(out)
    return written


def test_every_message_in_the_code_and_the_templates_is_in_the_catalogue(tmp_path):
    """A new gettext string or template text without a Chinese translation fails here, not in front
    of a user. Python files as they are, templates templatized as makemessages does."""
    backend = LOCALE.parents[2]
    sources = [
        path
        for path in sorted(backend.rglob("*.py"))
        if "migrations" not in path.parts and "locale" not in path.parts
    ]
    templates = _templatized(backend, tmp_path)
    assert len(templates) >= 10, "the pages' templates were not found"
    in_code: set[str] = set()
    for path in sources + templates:
        for _lineno, message, _comments, _context in extract_from_file(
            "python", path, keywords=KEYWORDS, options={"encoding": "utf-8"}
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                in_code.add(msgid)
    assert "Username or mobile number" in in_code and "Page %(number)s of %(pages)s" in in_code
    translated = {msgid for msgid, msgstr in _po_entries().items() if msgstr}
    missing = sorted(in_code - translated)
    assert missing == [], "run `make messages` and translate these in backend/locale/zh_Hans"
