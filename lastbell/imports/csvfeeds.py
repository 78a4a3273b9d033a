"""Plain CSV imports for systems without OneRoster or Ed-Fi: attendance and bus assignments.

Both stream the file (never read whole), report per row, apply in one transaction (a file
problem applies nothing), and are idempotent: the same file again changes nothing. Each has a
template to download with its columns and an example.
"""

import datetime as dt
import io
import pathlib
import re

from django.db import transaction

from lastbell.attendance.codes import CodeMap
from lastbell.attendance.models import Category
from lastbell.attendance.services import PRESENT, AbsenceEvent, AbsenceSpec, absences_record_many
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.imports.oneroster import MAX_FILE_BYTES, FileProblem, _rows
from lastbell.imports.report import ABSENCE_OUTCOMES, Outcome, Report
from lastbell.people.models import Student
from lastbell.plans import weekdays
from lastbell.plans.bus_feed import Assignment, bus_feed_apply

ATTENDANCE_COLUMNS = [
    "student_id", "date", "kind", "excused", "departs_at", "reason", "event_id", "minutes",
]  # fmt: skip
# Last Bell's own kinds; any other value of `kind` is looked up in the district's codes.
KINDS = ("absent", "tardy", "early_departure", PRESENT)
ATTENDANCE_REQUIRED = ["student_id", "date"]
BUS_COLUMNS = ["student_id", "bus", "route_name", "weekdays", "direction"]
BUS_REQUIRED = ["student_id", "bus"]

TEMPLATES = {
    "attendance": (ATTENDANCE_COLUMNS, [
        ["S000123", "2026-11-18", "absent", "yes", "", "Doctor's appointment", "", ""],
        ["S000456", "2026-11-18", "early_departure", "yes", "13:15", "Dentist", "", ""],
        ["S000789", "2026-11-18", "tardy", "no", "", "Missed the bus", "", "45"],
        ["S000321", "2026-11-18", "present", "", "", "Marked absent by mistake", "", ""],
    ]),
    "bus": (BUS_COLUMNS, [
        ["S000123", "12", "North loop", "Mon-Fri", "from_school"],
        ["S000456", "12", "North loop", "Mon-Wed", ""],
        ["S000456", "7", "Harbor", "Thu, Fri", ""],
    ]),
}  # fmt: skip


def template_csv(kind: str) -> str:
    import csv

    columns, examples = TEMPLATES[kind]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(examples)
    return out.getvalue()


class _OneFile:
    """A single uploaded or local file, in the shape the OneRoster reader streams from."""

    def __init__(self, file, name: str):
        self.file, self.name = file, name

    def size(self, name):
        if isinstance(self.file, str | pathlib.Path):
            return pathlib.Path(self.file).stat().st_size
        return getattr(self.file, "size", 0) or 0

    def open(self, name):
        if isinstance(self.file, str | pathlib.Path):
            return open(self.file, "rb")  # noqa: SIM115 — closed by the reader
        self.file.seek(0)
        return _Unclosed(self.file)


class _Unclosed:
    """An uploaded file stays open for Django to clean up; the reader may close this view."""

    def __init__(self, raw):
        self.raw = raw

    def readline(self, size=-1):
        return self.raw.readline(size)

    def tell(self):
        return self.raw.tell()

    def close(self):
        pass


def _stream(file, name, required, max_bytes, progress=None):
    source = _OneFile(file, name)
    yield from _rows(source, name, required, progress, max_bytes)


_TRUE = {"yes", "y", "true", "1", "x", "sí", "si"}
_FALSE = {"", "no", "n", "false", "0"}
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _weekdays(value: str) -> int | None:
    """'Mon-Fri', 'Mon–Wed, Fri', 'mon,tue' → a mask; empty → every school day; else None."""
    text = value.strip().lower()
    if not text:
        return weekdays.SCHOOL_WEEK
    mask = 0
    for part in re.split(r"[,;/ ]+", text.replace("–", "-")):
        if not part:
            continue
        ends = part.split("-")
        names = [e[:3] for e in ends]
        if any(n not in _DAYS for n in names) or len(names) > 2:
            return None
        first, last = _DAYS[names[0]], _DAYS[names[-1]]
        if last < first:
            return None
        for day in range(first, last + 1):
            mask |= weekdays.bit(day)
    return mask or None


def import_attendance(file, *, school=None, district=None, name="attendance.csv", apply=False,
                      actor=None, report: Report | None = None, progress=None,
                      max_bytes=MAX_FILE_BYTES) -> Report:  # fmt: skip
    """Absences, tardies and early departures from a CSV file, for one school or a whole
    district (student ids are then looked up across the district's schools).

    `kind` is absent, tardy, early_departure or present, or one of the district's attendance
    codes (which then says whether it is excused, unless the `excused` column does); `minutes`
    is how late (tardy) or how much of the day was missed (early departure).

    The file streams in batches of `BATCH_ROWS`: memory stays flat however long it is, and
    each batch costs a constant number of queries.
    """
    district = district or school.district
    report = report or Report(source=name)
    try:
        with transaction.atomic():
            _attendance(file, name, school, district, report, actor, max_bytes, progress)
            if not apply:
                transaction.set_rollback(True)
            else:
                report.applied = True
                audit_record(
                    action="import.attendance", actor=actor, target=school or district,
                    school=school, district=district, via=Via.IMPORT,
                    after={"file": name, **report.counts()},
                    label=f"Attendance file {name}",
                )  # fmt: skip
    except FileProblem as problem:
        report.file_error(problem.file, problem.message)
    return report


BATCH_ROWS = 5000


def _attendance(file, name, school, district, report, actor, max_bytes, progress):
    # One query for the students, not one per row: (id, school id, name) by student id. A
    # student id found at two of the district's schools is ambiguous in a district file.
    where = {"school": school} if school else {"school__district": district}
    students, twice = {}, set()
    for pk, sis, school_id, first, last in Student.objects.filter(**where).values_list(
        "pk", "sis_id", "school_id", "first_name", "last_name"
    ):  # fmt: skip
        if sis in students:
            twice.add(sis)
        students[sis] = (pk, school_id, f"{first} {last}".strip())
    place = school.name if school else district.name
    codes = CodeMap.for_district(district)
    seen: set[int] = set()  # student pk × 100,000 + day number: compact for a million rows
    batch: list[tuple[int, str, AbsenceEvent]] = []

    def flush():
        outcomes = absences_record_many(
            [event for _, _, event in batch], district_id=district.pk,
            source_detail=f"file {name}", actor=actor, via=Via.IMPORT, each_audited=False,
        )  # fmt: skip
        for (row_number, key, _), (_, outcome) in zip(batch, outcomes, strict=True):
            result, why = ABSENCE_OUTCOMES[outcome]
            report.add(name, row_number, result, "absence", key, why)
        batch.clear()

    for row_number, row in _stream(file, name, ATTENDANCE_REQUIRED, max_bytes, progress):
        sis = row.get("student_id", "")
        key = f"{sis} {row.get('date', '')}"
        problem, spec = _absence_row(row, students, place, codes)
        if problem is None and sis in twice:
            problem = f"the student id {sis} belongs to students at two schools; import " \
                      "this file from the student's school instead"  # fmt: skip
        if problem is None:
            pk, school_id, full_name = students[sis]
            day = pk * 100_000 + spec.date.toordinal() % 100_000
            if day in seen:
                problem = "this student and date are already in the file"
            seen.add(day)
        if problem:
            report.add(name, row_number, Outcome.REJECTED, "absence", key, problem)
            continue
        event_id = row.get("event_id") or f"csv:{sis}:{spec.date.isoformat()}"
        batch.append((row_number, key, AbsenceEvent(pk, school_id, full_name, spec, event_id)))
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()


def _absence_row(row, students, place, codes: CodeMap) -> tuple[str | None, AbsenceSpec | None]:
    """Why the row can't be taken, or the absence it describes (kind "present" withdraws)."""
    sis, date_text = row.get("student_id", ""), row.get("date", "")
    raw_kind = row.get("kind") or "absent"
    kind = raw_kind.lower()
    excused = (row.get("excused") or "").lower()
    minutes_text = row.get("minutes") or ""
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError:
        return f"the date {date_text!r} is not a real date written like 2026-11-18", None
    if sis not in students:
        return f"no student with id {sis} at {place}", None
    coded_excused = False
    if kind not in KINDS:
        category = codes.category(raw_kind)
        if category is None:
            return (f"the kind {raw_kind!r} is not absent, tardy, early_departure or present, "
                    f"nor one of the district's attendance codes ({codes.names()}); a "
                    "district admin can add it under Attendance codes"), None  # fmt: skip
        kind, coded_excused = Category.split(category)
    if excused not in _TRUE | _FALSE:
        return f"excused should be yes or no, not {row.get('excused')!r}", None
    minutes = None
    if minutes_text:
        if not minutes_text.isdigit() or int(minutes_text) > 1440:
            return f"minutes should be a number of minutes like 45, not {minutes_text!r}", None
        minutes = int(minutes_text)
    departs = None
    if kind == "early_departure":
        try:
            departs = dt.time.fromisoformat(row.get("departs_at", ""))
        except ValueError:
            return "an early departure needs its time, written like 13:15", None
    # The excused column, when filled, says it; else the code's category does.
    is_excused = excused in _TRUE if excused else coded_excused
    return None, AbsenceSpec(date=date, kind=kind, excused=is_excused, departs_at=departs,
                             reason=row.get("reason", ""), minutes=minutes)  # fmt: skip


def import_buses(file, *, school, name="buses.csv", apply=False, actor=None,
                 starts_on=None, report: Report | None = None, progress=None,
                 max_bytes=MAX_FILE_BYTES) -> Report:  # fmt: skip
    """The school's whole bus feed from a CSV file (plans/bus_feed.py's rules)."""
    report = report or Report(source=name)
    try:
        assignments = []
        for row_number, row in _stream(file, name, BUS_REQUIRED, max_bytes, progress):
            key = f"{row.get('student_id', '')} bus {row.get('bus', '')}"
            if (row.get("direction") or "").lower() in ("to_school", "to school"):
                report.add(name, row_number, Outcome.SKIPPED, "bus", key, "a ride to school")
                continue
            mask = _weekdays(row.get("weekdays", ""))
            if mask is None:
                report.add(name, row_number, Outcome.REJECTED, "bus", key,
                           f"the weekdays {row.get('weekdays')!r} are not like Mon-Fri or "
                           "Mon, Wed")  # fmt: skip
                continue
            assignments.append(Assignment(
                row=row_number, student_id=row.get("student_id", ""), bus=row.get("bus", ""),
                route_name=row.get("route_name", ""), weekdays=mask,
            ))  # fmt: skip
    except FileProblem as problem:
        report.file_error(problem.file, problem.message)
        return report
    feed = bus_feed_apply(school=school, assignments=assignments, starts_on=starts_on,
                          apply=apply, source_detail=f"file {name}", actor=actor)  # fmt: skip
    report.applied = feed.applied
    rows = {item.student_id: item.row for item in assignments}
    for row, sis, why in feed.rejected:
        report.add(name, row, Outcome.REJECTED, "bus", sis, why)
    for outcome, ids in ((Outcome.CREATED, feed.created), (Outcome.UPDATED, feed.updated)):
        for sis in ids:
            report.add(name, rows.get(sis, 0), outcome, "bus", sis)
    for sis, why in feed.kept:
        report.add(name, rows.get(sis, 0), Outcome.KEPT, "bus", sis, why)
    for sis in feed.ended:
        report.add(name, 0, Outcome.UPDATED, "bus", sis, "left the feed: its bus default ends")
    return report
