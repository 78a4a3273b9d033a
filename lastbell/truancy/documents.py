"""Letters as documents (issue 6 §5): each letter's merge fields, the district's text of each
level and language (or the default one), the letter as HTML, the batch PDF and the emails.

A letter is rendered from what was recorded when it was issued (count, dates, level) and the
family as it is now (names, mailing address, language). Each family language gets its own
copy: a student whose guardians read English and Spanish has one letter in each, each
addressed to the guardians of that language; a student with no guardian on file gets one in
English, to "the parent or guardian of …". Templates run in the sandbox (sandbox.py) with
plain text merge fields only.
"""

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.translation import gettext as _

from lastbell.i18n import language_of
from lastbell.truancy import sandbox
from lastbell.truancy.models import Letter, LetterTemplate

DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "templates" / "truancy" / "letters"
LETTER_CSS = Path(__file__).resolve().parent.parent / "static" / "lastbell" / "letters.css"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
# Letters per part: WeasyPrint lays each part out on its own, quicker than one long document.
PART_SIZE = 50

DEFAULT_SUBJECTS = {
    (1, "en"): "Truancy notice for {{ student.full_name }}",
    (1, "es"): "Aviso de ausentismo escolar de {{ student.full_name }}",
    (2, "en"): "Please meet with us about {{ student.full_name }}'s attendance",
    (2, "es"): "Reunión sobre la asistencia de {{ student.full_name }}",
    (3, "en"): "Habitual truancy and SARB referral for {{ student.full_name }}",
    (3, "es"): "Ausentismo habitual y remisión al SARB de {{ student.full_name }}",
}

# What a template can use, as the editor lists it.
FIELD_HELP = [
    ("today", "The date of the letter"),
    ("guardian_names", "The guardians it is addressed to, e.g. “Maria Lopez and Jose Lopez”"),
    ("mailing_address", "The family's mailing address (several lines: use |linebreaksbr)"),
    ("student.full_name", "Also student.first_name, student.last_name, student.grade, "
                          "student.id (the student ID)"),
    ("school.name", "Also school.phone"),
    ("district.name", "The district"),
    ("letter.number", "Also letter.name (the policy's name of this letter)"),
    ("count", "How many days counted when the letter was issued"),
    ("threshold", "The count at which this letter is due"),
    ("dates", "The days that counted, as a list: {% for day in dates %}{{ day }}{% endfor %}"),
    ("conference.date", "Letter 2: also conference.time and conference.place (empty when the "
                        "family is asked to call)"),
    ("board.name", "Letter 3: the attendance review board; also board.date, board.time, "
                   "board.place, board.phone"),
    ("sender", "The name of the staff member who issued the letter"),
]  # fmt: skip
FIELDS = {name.split(".")[0] for name, _help in FIELD_HELP}


def letters_dir() -> Path:
    path = settings.DATA_DIR / "letters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def letter_css() -> str:
    return LETTER_CSS.read_text(encoding="utf-8")


def default_template(level: int, language: str) -> tuple[str, str]:
    """(subject, body) of the default letter: letters past the third read like the third."""
    key = (min(max(level, 1), 3), language if language in LANGUAGES else "en")
    body = (DEFAULTS_DIR / f"letter{key[0]}.{key[1]}.html").read_text(encoding="utf-8")
    return DEFAULT_SUBJECTS[key], body


def templates_for(district) -> dict[tuple[int, str], LetterTemplate]:
    """The district's own templates by (level, language); one query."""
    return {(t.level, t.language): t for t in LetterTemplate.objects.filter(district=district)}


def template_text(saved: dict, level: int, language: str) -> tuple[str, str]:
    own = saved.get((level, language))
    return (own.subject, own.body) if own else default_template(level, language)


# --- merge fields ------------------------------------------------------------------------------


# A letter spells the month out ("November 18, 2026"); Spanish's usual format already does.
LONG_DATE = {"en": "F j, Y"}


def _date(day: dt.date | None) -> str:
    if not day:
        return ""
    return formats.date_format(day, LONG_DATE.get(translation.get_language(), "DATE_FORMAT"))


def _time(moment: dt.time | None) -> str:
    return formats.time_format(moment, "TIME_FORMAT") if moment else ""


def join_names(names: list[str]) -> str:
    """ "Maria Lopez", "Maria Lopez and Jose Lopez", "A, B and C", in the active language."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return "".join(names)
    return _("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


@dataclasses.dataclass
class Copy:
    """One printed or emailed letter: a letter in one language, to these guardians."""

    letter: Letter
    language: str
    guardians: list


def copies(letter: Letter) -> list[Copy]:
    """A copy per language among the student's guardians (prefetched as `family`)."""
    groups: dict[str, list] = {}
    for guardian in getattr(letter, "family", []):
        groups.setdefault(language_of(guardian), []).append(guardian)
    if not groups:
        return [Copy(letter, settings.LANGUAGE_CODE, [])]
    return [Copy(letter, lang, people) for lang, people in sorted(groups.items())]


def fields(copy: Copy, *, details: dict, on: dt.date) -> dict:
    """The merge fields of one copy, in its language: text only (sandbox.freeze)."""
    letter, student = copy.letter, copy.letter.student
    school = letter.school
    with translation.override(copy.language):
        first = student.preferred_name or student.first_name
        full = f"{first} {student.last_name}".strip()
        names = join_names([g.full_name for g in copy.guardians]) or (
            _("Parent or Guardian of %(student)s") % {"student": full}
        )
        address = next((g.mailing_address for g in copy.guardians if g.mailing_address), "")
        conference = getattr(letter, "conference", None) if letter.level == 2 else None
        when = conference.scheduled_at.astimezone(school.tz) if conference and \
            conference.scheduled_at else None  # fmt: skip
        board = details.get("board") or {}
        board_day = dt.date.fromisoformat(board["date"]) if board.get("date") else None
        board_time = dt.time.fromisoformat(board["time"]) if board.get("time") else None
        return {
            "today": _date(on),
            "district": {"name": school.district.name},
            "school": {"name": school.name, "phone": school.office_phone},
            "guardian_names": names,
            "mailing_address": address,
            "student": {"first_name": first, "last_name": student.last_name, "full_name": full,
                        "grade": student.grade, "id": student.sis_id},
            "letter": {"number": letter.level, "name": letter.level_name},
            "count": letter.count,
            "threshold": letter.threshold or "",
            "dates": [_date(day) for day in letter.counted_dates()],
            "conference": {
                "date": _date(when.date()) if when else "",
                "time": _time(when.time()) if when else "",
                "place": conference.place if conference else "",
            },
            "board": {"name": board.get("name", ""), "place": board.get("place", ""),
                      "date": _date(board_day), "time": _time(board_time),
                      "phone": board.get("phone", "")},
            "sender": letter.issued_by.get_full_name() if letter.issued_by else "",
        }  # fmt: skip


def sample_fields(district, level: int, language: str) -> dict:
    """Made-up merge fields for the template editor's preview: no real family's data."""
    with translation.override(language):
        days = [dt.date(2026, 9, 8), dt.date(2026, 9, 22), dt.date(2026, 10, 6),
                dt.date(2026, 10, 13), dt.date(2026, 10, 27), dt.date(2026, 11, 3)]  # fmt: skip
        count = {1: 3, 2: 6}.get(level, 9)
        days = (days * 2)[:count]
        return {
            "today": _date(dt.date(2026, 11, 18)),
            "district": {"name": district.name},
            "school": {"name": "Lincoln Elementary", "phone": "(555) 010-0100"},
            "guardian_names": join_names(["Maria Lopez", "Jose Lopez"]),
            "mailing_address": "123 Main Street\nRiverside, CA 92501",
            "student": {"first_name": "Ana", "last_name": "Rivera", "full_name": "Ana Rivera",
                        "grade": "5", "id": "S000123"},
            "letter": {"number": level, "name": f"Letter {level}"},
            "count": count, "threshold": count, "dates": [_date(d) for d in days],
            "conference": {"date": _date(dt.date(2026, 12, 2)), "time": _time(dt.time(8, 30)),
                           "place": "the main office"} if level == 2 else {},
            "board": {"name": "Riverside County SARB", "place": "District office, room 4",
                      "date": _date(dt.date(2027, 1, 12)), "time": _time(dt.time(16, 0)),
                      "phone": "(555) 010-0200"} if level >= 3 else {},
            "sender": "Dana Office",
        }  # fmt: skip


# --- rendering ---------------------------------------------------------------------------------


class Renderer:
    """The district's letters compiled once per (level, language), for a whole batch."""

    def __init__(self, district):
        self.saved = templates_for(district)
        self.compiled: dict[tuple[int, str], tuple[sandbox.Compiled, sandbox.Compiled]] = {}

    def _templates(self, level: int, language: str):
        key = (level, language)
        if key not in self.compiled:
            subject, body = template_text(self.saved, level, language)
            self.compiled[key] = (sandbox.Compiled(subject, autoescape=False),
                                  sandbox.Compiled(body))  # fmt: skip
        return self.compiled[key]

    def render(self, copy: Copy, *, details: dict, on: dt.date) -> tuple[str, str]:
        """(subject, HTML body) of one copy."""
        subject, body = self._templates(copy.letter.level, copy.language)
        values = fields(copy, details=details, on=on)
        return subject.render(values), body.render(values)


def batch_letters(batch):
    """The batch's letters with what rendering needs, by school and name (a fixed number of
    queries)."""
    from django.db.models import Prefetch

    from lastbell.people.models import Guardian

    family = Guardian.objects.order_by("last_name", "first_name", "pk")
    return (
        Letter.objects.filter(batch=batch)
        .select_related("student", "school__district", "issued_by", "conference")
        .prefetch_related(Prefetch("student__guardians", queryset=family, to_attr="family_"))
        .order_by("school__name", "student__last_name", "student__first_name", "pk")
    )


def _with_family(letters):
    for letter in letters:
        letter.family = letter.student.family_
        yield letter


def letter_date(batch) -> dt.date:
    tz = batch.school.tz if batch.school_id else _district_tz(batch.district)
    return batch.created_at.astimezone(tz).date()


def _district_tz(district):
    import zoneinfo

    return zoneinfo.ZoneInfo(district.timezone)


def print_html(parts: list[tuple[str, str]]) -> str:
    """The print document of (language, letter HTML) pairs."""
    return render_to_string("truancy/letters_print.html", {"letters": parts, "css": letter_css()})


def batch_pdf(batch, out, *, progress=None) -> int:
    """Write the batch's letters, every copy, as one PDF to the binary file `out`; returns
    the number of pages. `progress(done, total)` is called after each part.

    Each part of PART_SIZE copies is laid out and written to a file of its own, then let go:
    WeasyPrint's laid-out pages take about 1 MB each, so holding a 1,000-letter run's pages
    to write them at once would take gigabytes. The parts are joined at the end (pypdf),
    which holds only the finished pages' PDF objects."""
    from pypdf import PdfWriter
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Letters fetch nothing: the sanitised HTML has no links or images, and this refuses any.
    fetcher = URLFetcher(allowed_protocols={"data"})
    renderer = Renderer(batch.district)
    on = letter_date(batch)
    all_copies = batch_copies(batch)
    total, pages = len(all_copies), 0
    with tempfile.TemporaryDirectory(prefix="letters-") as folder:
        parts = []
        for first in range(0, total, PART_SIZE):
            html = print_html([(c.language, renderer.render(c, details=batch.details, on=on)[1])
                               for c in all_copies[first : first + PART_SIZE]])  # fmt: skip
            document = HTML(string=html, url_fetcher=fetcher).render()
            pages += len(document.pages)
            parts.append(Path(folder) / f"part-{len(parts):05d}.pdf")
            document.write_pdf(parts[-1])
            del document
            if progress is not None:
                progress(min(first + PART_SIZE, total), total)
        if len(parts) == 1:
            out.write(parts[0].read_bytes())
        else:
            writer = PdfWriter()
            for part in parts:
                writer.append(str(part))
            writer.write(out)
    return pages


def batch_copies(batch) -> list[Copy]:
    return [c for letter in _with_family(batch_letters(batch)) for c in copies(letter)]


def email_html(body: str, *, language: str, school) -> str:
    """A letter as an email's HTML part, with a short note in the guardian's language."""
    with translation.override(language):
        return render_to_string(
            "truancy/letter_email.html",
            {"body": body, "css": letter_css(), "school": school, "language": language},
        )


def email_text(body: str, *, language: str, school) -> str:
    with translation.override(language):
        note = render_to_string("truancy/letter_email.txt", {"school": school}).strip()
    return f"{sandbox.html_to_text(body)}\n\n{note}"
