"""The Spanish catalog is complete, compiled from the .po in the repository, and has every
message the code asks for; guardian-facing templates keep their words in translation tags.

After changing user-visible text, `make messages` updates django.po; translate what is new
there and run `make messages` again to compile django.mo. Commit both files.
"""

import ast
import gettext as gnu_gettext
import html.parser
import re
from pathlib import Path

import pytest
from django.template.base import DebugLexer, TokenType
from django.utils import translation
from django.utils.translation.template import templatize

PACKAGE = Path(__file__).resolve().parent.parent
PO = PACKAGE / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# What `make messages` leaves out (its --ignore options).
NOT_SCANNED = {"static", "tests", "migrations", "__pycache__"}
# Templates that guardians read (family/staff/ holds staff pages, which are in English).
GUARDIAN_TEMPLATES = ["family", "messaging/mail"]
STAFF_FOLDER = "staff"
# Words that stay the same in every language.
UNTRANSLATED_NAMES = ["Last Bell"]
HOW_TO_FIX = (
    f"Run `make messages`, translate in {PO.relative_to(PACKAGE.parent)}, "
    "and run `make messages` again."
)


# --- reading the .po ----------------------------------------------------------------------


class Entry:
    def __init__(self, line: int):
        self.line = line
        self.flags: set[str] = set()
        self.msgctxt: str | None = None
        self.msgid: str | None = None
        self.msgid_plural: str | None = None
        self.msgstr: dict[int, str] = {}

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    def __str__(self):
        context = f" (context {self.msgctxt!r})" if self.msgctxt else ""
        return f"line {self.line}: {self.msgid!r}{context}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file as gettext writes it (a blank line between entries), header
    first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    entry, field = None, None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry = None
            continue
        if line.startswith("#~"):
            continue
        if entry is None:
            entry = Entry(number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):  # a continuation of the field above
            value = ast.literal_eval(line)
            if isinstance(field, int):
                entry.msgstr[field] += value
            else:
                setattr(entry, field, getattr(entry, field) + value)
        else:
            keyword, _, value = line.partition(" ")
            if keyword.startswith("msgstr"):
                field = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.msgstr[field] = ast.literal_eval(value)
            elif keyword in {"msgctxt", "msgid", "msgid_plural"}:
                field = keyword
                setattr(entry, field, ast.literal_eval(value))
            else:
                raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
    return [entry for entry in entries if entry.msgid is not None]


@pytest.fixture(scope="module")
def catalog() -> tuple[Entry, list[Entry]]:
    assert PO.exists(), f"There is no Spanish catalog at {PO}. {HOW_TO_FIX}"
    header, *messages = read_po(PO)
    assert header.msgid == "", f"{PO} should start with its header"
    return header, messages


def _header_fields(header: Entry) -> dict[str, str]:
    fields = {}
    for line in header.msgstr[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


# --- the catalog itself -------------------------------------------------------------------


def test_it_has_a_spanish_header(catalog):
    header, _ = catalog
    fields = _header_fields(header)

    assert "fuzzy" not in header.flags, "Remove the '#, fuzzy' line above the header."
    assert fields.get("Language") == "es"
    assert fields.get("Content-Type") == "text/plain; charset=UTF-8"
    assert fields.get("Plural-Forms", "").startswith("nplurals=")


def test_it_translates_every_message(catalog):
    _, messages = catalog

    untranslated = [
        str(entry) for entry in messages if not all(text for text in entry.msgstr.values())
    ]
    assert not untranslated, (
        f"{len(untranslated)} of {len(messages)} messages have no Spanish yet:\n  "
        + "\n  ".join(untranslated)
        + f"\n{HOW_TO_FIX}"
    )


def test_it_has_no_fuzzy_translations(catalog):
    _, messages = catalog

    fuzzy = [str(entry) for entry in messages if "fuzzy" in entry.flags]
    assert not fuzzy, (
        "gettext guessed these translations from similar messages, and a guess is never "
        "shown. Check each, then delete its '#, fuzzy' line:\n  " + "\n  ".join(fuzzy)
    )


def _plural_examples(header: Entry) -> dict[int, int]:
    """For each plural form of the language, a number that uses it."""
    expression = _header_fields(header)["Plural-Forms"].split("plural=", 1)[1].rstrip(";")
    form_of = gnu_gettext.c2py(expression)
    examples: dict[int, int] = {}
    for n in [1, 0, 2, 3, 5, 11, 21, 101, 1_000_000, 2_000_000]:
        examples.setdefault(form_of(n), n)
    return examples


def test_it_serves_the_compiled_translation_of_every_message(catalog):
    """django.mo was compiled from this django.po: Django answers every msgid with its msgstr."""
    header, messages = catalog
    examples = _plural_examples(header)
    stale = []
    with translation.override("es"):
        for entry in messages:
            if not all(entry.msgstr.values()):
                continue  # reported by test_it_translates_every_message
            if entry.msgid_plural is None:
                got = {
                    0: translation.pgettext(entry.msgctxt, entry.msgid)
                    if entry.msgctxt is not None
                    else translation.gettext(entry.msgid)
                }
            else:
                got = {
                    form: translation.npgettext(
                        entry.msgctxt, entry.msgid, entry.msgid_plural, examples[form]
                    )
                    if entry.msgctxt is not None
                    else translation.ngettext(entry.msgid, entry.msgid_plural, examples[form])
                    for form in entry.msgstr
                }
            if got != entry.msgstr:
                stale.append(f"{entry}: served {got}, the .po says {entry.msgstr}")
    assert not stale, (
        "django.mo does not match django.po; run `make messages` to compile it:\n  "
        + "\n  ".join(stale)
    )


def test_it_compiled_nothing_that_is_not_in_the_po(catalog):
    _, messages = catalog
    with MO.open("rb") as mo:
        compiled = gnu_gettext.GNUTranslations(mo)._catalog  # the only listing it offers
    ids = set()
    for msgid in compiled:
        msgid = msgid[0] if isinstance(msgid, tuple) else msgid
        context, _, msgid = msgid.rpartition("\x04")
        if msgid:
            ids.add((context or None, msgid))
    in_po = {entry.key for entry in messages if all(entry.msgstr.values())}

    assert ids == in_po, (
        f"django.mo is out of date: only in the .mo {sorted(ids - in_po)}, "
        f"only in the .po {sorted(in_po - ids)}. Run `make messages` to compile it."
    )


# --- the code's messages ------------------------------------------------------------------


def _sources(*suffixes):
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE)
        if path.suffix in suffixes and not NOT_SCANNED & set(relative.parts[:-1]):
            yield path


# gettext calls as xgettext reads them (Django's makemessages keywords): argument roles.
KEYWORDS = {
    "_": ("msgid",), "gettext": ("msgid",), "gettext_lazy": ("msgid",),
    "gettext_noop": ("msgid",), "ngettext": ("msgid", "plural"),
    "ngettext_lazy": ("msgid", "plural"), "pgettext": ("context", "msgid"),
    "pgettext_lazy": ("context", "msgid"), "npgettext": ("context", "msgid", "plural"),
    "npgettext_lazy": ("context", "msgid", "plural"),
}  # fmt: skip


def _key(name, args):
    roles = dict(zip(KEYWORDS[name], args, strict=False))
    if "msgid" not in roles:
        return None
    return (roles.get("context"), roles["msgid"])


def _python_messages(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in KEYWORDS:
            continue
        args = []
        for arg in node.args[: len(KEYWORDS[name])]:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                break  # xgettext takes literal strings only
            args.append(arg.value)
        key = _key(name, args)
        if key:
            yield key, node.lineno


STRING = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
TEMPLATIZED_CALL = re.compile(rf"\b({'|'.join(KEYWORDS)})\(\s*({STRING}(?:\s*,\s*{STRING})*)")


def _template_messages(path: Path):
    """The messages of {% translate %} and {% blocktranslate %}, as makemessages sees them."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for number, line in enumerate(code.splitlines(), start=1):
        for match in TEMPLATIZED_CALL.finditer(line):
            args = ast.literal_eval(f"({match.group(2)},)")
            key = _key(match.group(1), list(args))
            if key:
                yield key, number


def test_it_has_every_message_of_the_code_in_the_catalog(catalog):
    _, messages = catalog
    in_po = {entry.key for entry in messages}
    missing = []
    for path in _sources(".py", ".html", ".txt"):
        found = _python_messages(path) if path.suffix == ".py" else _template_messages(path)
        for (context, msgid), line in found:
            if (context, msgid) not in in_po:
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                missing.append(f"{where}: {msgid!r}" + (f" (context {context!r})" * bool(context)))
    assert not missing, (
        "These messages are not in the Spanish catalog, so Spanish readers see English:\n  "
        + "\n  ".join(missing)
        + f"\n{HOW_TO_FIX}\nmakemessages cannot see a gettext call inside an f-string: call it "
        "before, and put the result in the f-string."
    )


# --- guardian templates -------------------------------------------------------------------

LETTER = re.compile(r"[^\W\d_]")
# Attributes that people read or hear (screen readers) as well as the text between tags.
VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description"}


def _outside_translation(source: str) -> str:
    """The template with every tag, variable and translated block blanked out; only the text
    that no translation tag covers is left, each character on its original line."""
    kept, depth = [], {"blocktranslate": 0, "comment": 0, "verbatim": 0}
    closers = {"endblocktranslate": "blocktranslate", "endblocktrans": "blocktranslate",
               "endcomment": "comment", "endverbatim": "verbatim"}  # fmt: skip
    openers = {"blocktranslate": "blocktranslate", "blocktrans": "blocktranslate",
               "comment": "comment", "verbatim": "verbatim"}  # fmt: skip
    for token in DebugLexer(source).tokenize():
        start, end = token.position
        text = source[start:end]
        if token.token_type == TokenType.BLOCK:
            word = token.contents.split()[0] if token.contents else ""
            if word in openers:
                depth[openers[word]] += 1
            elif word in closers:
                depth[closers[word]] -= 1
        if token.token_type == TokenType.TEXT and not any(depth.values()):
            kept.append(text)
        else:
            # A space keeps "a{{ b }}c" two words; the newlines keep the line numbers.
            kept.append(" " + "\n" * text.count("\n"))
    return "".join(kept)


class _VisibleText(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._hidden += 1
        is_button = dict(attrs).get("type") in {"submit", "button"}
        for name, value in attrs:
            if value and (name in VISIBLE_ATTRIBUTES or name == "value" and is_button):
                self.found.append((self.getpos()[0], value))

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data):
        if not self._hidden:
            self.found.append((self.getpos()[0], data))


def untranslated_text(path: Path) -> list[tuple[int, str]]:
    """(line, words) of a template where words are outside every translation tag."""
    text = _outside_translation(path.read_text(encoding="utf-8"))
    if path.suffix == ".html":
        parser = _VisibleText()
        parser.feed(text)
        parser.close()
        pieces = parser.found
    else:  # a plain-text email or text message: everything is read
        pieces = list(enumerate(text.splitlines(), start=1))
    problems = []
    for line, piece in pieces:
        for name in UNTRANSLATED_NAMES:
            piece = piece.replace(name, "")
        if LETTER.search(piece):
            problems.append((line, " ".join(piece.split())))
    return problems


def test_it_finds_words_outside_translation_tags(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '{% load i18n %}<!doctype html>\n<p title="{% translate "Hi" %}">{% translate "Hello" %}'
        " {{ name }}, &middot; 3</p>\n{# note #}{% comment %}Not shown{% endcomment %}"
        "{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}<script>let a = 1;</script>\n"
        '<p>{% if x %}Hola{% endif %}</p><img alt="A bell"> Last Bell'
    )
    mail = tmp_path / "mail.txt"
    mail.write_text("{% load i18n %}{% translate 'Hi' %} {{ name }}\n— {{ school }}\nThanks")

    assert untranslated_text(page) == [(4, "Hola"), (4, "A bell")]
    assert untranslated_text(mail) == [(3, "Thanks")]


@pytest.mark.parametrize("folder", GUARDIAN_TEMPLATES)
def test_it_keeps_guardian_templates_in_translation_tags(folder):
    problems = []
    for path in sorted((PACKAGE / "templates" / folder).rglob("*")):
        relative = path.relative_to(PACKAGE / "templates" / folder)
        if path.suffix in {".html", ".txt"} and STAFF_FOLDER not in relative.parts[:-1]:
            where = path.relative_to(PACKAGE.parent)
            problems += [f"{where}:{line}: {words!r}" for line, words in untranslated_text(path)]
    assert not problems, (
        "Guardians read these words, which no {% translate %} or {% blocktranslate %} "
        "covers, so Spanish readers see them in English:\n  " + "\n  ".join(problems)
    )
