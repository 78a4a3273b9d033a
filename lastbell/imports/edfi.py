"""Ed-Fi Data Standard 5.x interchange XML: students, contacts, attendance, transportation.

    import_edfi("/path/to/Student.xml", district=district, school=school, apply=True) -> Report

The file's root element says what it holds (any namespace http://ed-fi.org/5.x):

- InterchangeStudent: Student -> Student. Student.sis_id = StudentUniqueId; FirstName,
  LastSurname and PreferredFirstName; BirthData/BirthDate is checked (a real date, not in the
  future) but not kept. The school comes from a StudentSchoolAssociation for the student in the
  same file when there is one (its EntryDate starts a new student's enrollment, its
  EntryGradeLevel gives the grade); else a student already in Last Bell stays at their school;
  else the `school` argument; else the student is rejected. Person records are skipped.
- InterchangeContact: Contact -> Guardian (Guardian.source_id = ContactUniqueId; names; the
  primary or first email; the Mobile telephone, else one that can take texts, else the first
  that is not a fax; the Mailing address, else the Home one, for letters; the Language on
  creation only: it is the guardian's own choice after that). An empty email, phone or
  address in the file never blanks what Last Bell has.
  StudentContactAssociation -> GuardianLink with the Relation's text ("Mother"). The contact is
  named by ContactReference/ContactIdentity/ContactUniqueId or, as in the Ed-Fi sample files,
  by ContactReference ref="..." pointing at a Contact's id attribute. Links are only added.
- InterchangeStudentAttendance: StudentSchoolAttendanceEvent -> absences through
  attendance.services.absence_record, keyed `edfi:{SchoolId}:{StudentUniqueId}:{EventDate}`
  as the API's Ed-Fi endpoint keys an event without an id. The AttendanceEventCategory maps
  to a category through the district's attendance codes (attendance/codes.py; by default
  Excused Absence and Unexcused Absence: absent, Early Departure and Partial with a
  DepartureTime: early departure, Tardy: tardy, In Attendance: withdraw that day's absence).
  SchoolAttendanceDuration gives the minutes of a tardy or early departure. An unknown code
  is rejected and changes nothing. The school is matched by School.code = SchoolId.
- InterchangeStudentTransportation, or InterchangeStudentEnrollment as in the Ed-Fi sample:
  StudentTransportation -> bus defaults through plans.bus_feed.bus_feed_apply. BusNumber
  ("Bus 101" -> bus 101), BusRoute's descriptor code as the route name when it says more than
  the number, TravelDayofWeek (Monday ... Sunday; none given: every school day) and
  TravelDirection: "From School" and "To and From School" count (none given counts too, as in
  the CSV bus import); "To School" is skipped. A TransportationType that is not a bus or van,
  or a record without StudentBusDetails, is skipped. The students are looked up in the district
  (the TransportationEducationOrganizationReference names the district, not the school).
  The bus feed is the whole truth for the defaults it made, per school: the file is applied
  to each school as its whole feed (the `school` argument's, else every school with a student
  in the file), so an imported bus default whose student is no longer in the file ends.
  Defaults set by staff or guardians are never touched (DESIGN.md §2 "Who set it").

How it runs: the file is streamed with ElementTree.iterparse, one top-level record at a time,
cleared after use; records are handled in batches of BATCH_SIZE with one lookup per batch.
The whole file runs in one transaction; a dry run is the same run rolled back. A problem with
the file (not XML, cut off, another interchange or Ed-Fi version) rolls everything back; a bad
record is rejected and reported while the others go ahead. The same file again changes
nothing. One audit event per applied import (`import.edfi`, via Import), besides the events
the attendance and bus services write per change. Report row numbers are the record's
position in the file, from 1.
"""

import dataclasses
import datetime as dt
import pathlib
import re
import xml.etree.ElementTree as ET  # noqa: S405 — DOCTYPEs are refused before parsing
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from lastbell.attendance.codes import CodeMap
from lastbell.attendance.models import Category
from lastbell.attendance.services import (
    PRESENT,
    AbsenceEvent,
    AbsenceSpec,
    absences_record_many,
)
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.imports.oneroster import (
    MAX_FILE_BYTES,
    FileProblem,
    Progress,
    _batches,
    _update_rows,
)
from lastbell.imports.report import ABSENCE_OUTCOMES, Outcome, Report
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.plans import weekdays
from lastbell.plans.bus_feed import Assignment, bus_feed_apply
from lastbell.schools.models import District, School

BATCH_SIZE = 1000
CHUNK = 64 * 1024
NAMESPACE = re.compile(r"^http://ed-fi\.org/5(\.\d+)*/?$")

STUDENTS, CONTACTS, ATTENDANCE, TRANSPORTATION = "students", "contacts", "attendance", "buses"
INTERCHANGES = {
    "InterchangeStudent": STUDENTS,
    "InterchangeContact": CONTACTS,
    "InterchangeContacts": CONTACTS,
    "InterchangeStudentAttendance": ATTENDANCE,
    "InterchangeStudentTransportation": TRANSPORTATION,
    # The Ed-Fi sample's StudentTransportation.xml is an InterchangeStudentEnrollment.
    "InterchangeStudentEnrollment": TRANSPORTATION,
}
# Records each interchange holds that Last Bell reads; others are reported as skipped.
RECORDS = {
    STUDENTS: {"Student", "StudentSchoolAssociation"},
    CONTACTS: {"Contact", "StudentContactAssociation"},
    ATTENDANCE: {"StudentSchoolAttendanceEvent"},
    TRANSPORTATION: {"StudentTransportation"},
}

DAYS = {name: n for n, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}  # fmt: skip
GRADES = {
    "infant/toddler": "IT", "preschool/prekindergarten": "PK", "kindergarten": "K",
    "first grade": "1", "second grade": "2", "third grade": "3", "fourth grade": "4",
    "fifth grade": "5", "sixth grade": "6", "seventh grade": "7", "eighth grade": "8",
    "ninth grade": "9", "tenth grade": "10", "eleventh grade": "11", "twelfth grade": "12",
}  # fmt: skip
LANGUAGES = {"eng": "en", "en": "en", "english": "en", "spa": "es", "es": "es", "spanish": "es"}


class _Rollback(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Reading


class _Guarded:
    """The raw file for iterparse: refuses a DOCTYPE (Ed-Fi files have none, and it is where
    entity attacks live) before the parser sees it, and never closes an uploaded file."""

    def __init__(self, raw, name):
        self.raw, self.name, self.prolog, self.tail = raw, name, True, b""

    def read(self, size=CHUNK):
        data = self.raw.read(size)
        if self.prolog and b"<!DOCTYPE" in self.tail + data:
            raise FileProblem(self.name, "has a DOCTYPE, which Ed-Fi files never have: it is "
                              "not an Ed-Fi interchange file.")  # fmt: skip
        self.tail = data[-16:]
        return data


@dataclasses.dataclass
class _Source:
    file: object
    name: str
    progress: Progress | None = None  # told every BATCH_SIZE records of the main pass

    def size(self) -> int:
        if isinstance(self.file, str | pathlib.Path):
            return pathlib.Path(self.file).stat().st_size
        return getattr(self.file, "size", None) or 0

    def open(self):
        if isinstance(self.file, str | pathlib.Path):
            try:
                return open(self.file, "rb")  # noqa: SIM115 — closed in _records
            except OSError as error:
                raise FileProblem(self.name, "could not be opened: it is not there or cannot "
                                  "be read.") from error  # fmt: skip
        self.file.seek(0)
        return self.file


def _local(tag: str) -> tuple[str, str]:
    """'{namespace}Name' -> (namespace, 'Name')."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _records(source: _Source, progress: Progress | None = None
             ) -> Iterator[tuple[int, str, ET.Element]]:  # fmt: skip
    """(position, record name, element) per top-level record, streamed: each element is
    cleared once the caller moves on. The root is checked first (see _interchange)."""
    name = source.name
    raw = source.open()
    size = source.size() or None
    guarded = _Guarded(raw, name)
    depth, position, root = 0, 0, None
    try:
        for event, element in ET.iterparse(guarded, events=("start", "end")):  # noqa: S314
            if event == "start":
                depth += 1
                if depth == 1:
                    guarded.prolog = False
                    root = element
                    _interchange_of(element, name)
                continue
            depth -= 1
            if depth == 1:
                position += 1
                if progress and position % BATCH_SIZE == 0:
                    progress(name, position, min(raw.tell() / size, 1.0) if size else None)
                yield position, _local(element.tag)[1], element
                element.clear()
                root.clear()  # type: ignore[union-attr]  — drop the finished record
    except ET.ParseError as error:
        raise FileProblem(name, _parse_problem(error, root is not None)) from error
    finally:
        if isinstance(source.file, str | pathlib.Path):
            raw.close()
    if root is None:
        raise FileProblem(name, "is empty: it has no XML in it.")
    if progress:
        progress(name, position, 1.0)


def _interchange(source: _Source) -> tuple[str, str, str]:
    """(kind, root name, namespace) of the file, from its root element, or a FileProblem."""
    raw = source.open()
    guarded = _Guarded(raw, source.name)
    try:
        for _, element in ET.iterparse(guarded, events=("start",)):  # noqa: S314
            return _interchange_of(element, source.name)
    except ET.ParseError as error:
        raise FileProblem(source.name, _parse_problem(error, False)) from error
    finally:
        if isinstance(source.file, str | pathlib.Path):
            raw.close()
    raise FileProblem(source.name, "is empty: it has no XML in it.")


def _parse_problem(error: ET.ParseError, started: bool) -> str:
    line, column = error.position
    message = str(error).split(":")[0]
    if not started:
        return (
            f"is not an XML file (line {line}, column {column}: {message}). Export the data "
            "from the SIS as Ed-Fi Data Standard 5 interchange XML and try again."
        )
    if message in ("no element found", "unclosed token"):
        return (
            f"ends in the middle (line {line}): the file is cut off, perhaps by an interrupted "
            "download or export. Nothing was imported; export it again and try again."
        )
    return (
        f"is damaged XML at line {line}, column {column} ({message}). Nothing was imported; "
        "export it again and try again."
    )


def _interchange_of(element: ET.Element, name: str) -> tuple[str, str, str]:
    namespace, local = _local(element.tag)
    if not namespace.startswith("http://ed-fi.org/"):
        where = f"in {namespace}" if namespace else "without the Ed-Fi namespace"
        raise FileProblem(
            name,
            f"is XML but not an Ed-Fi interchange (its root element is {local} {where}). "
            "Export the data from the SIS as Ed-Fi Data Standard 5 interchange XML and try "
            "again.",
        )
    if not NAMESPACE.match(namespace):
        raise FileProblem(
            name,
            f"is Ed-Fi of another version ({namespace}); Last Bell reads Data Standard 5.x "
            "(http://ed-fi.org/5.0.0 to 5.2.0 ...). Export it again as Data Standard 5.",
        )
    if local not in INTERCHANGES:
        raise FileProblem(
            name,
            f"is an Ed-Fi {local} file; Last Bell imports InterchangeStudent, "
            "InterchangeContact, InterchangeStudentAttendance and StudentTransportation "
            "(InterchangeStudentTransportation or InterchangeStudentEnrollment). Choose one of "
            "those files.",
        )
    return INTERCHANGES[local], local, namespace


# ---------------------------------------------------------------------------------------------
# Elements


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child.tag)[1] == name:
            return child
    return None


def _within(element: ET.Element, name: str) -> ET.Element:
    """The child with this local name, or the element itself when it has none."""
    child = _child(element, name)
    return element if child is None else child


def _children(element: ET.Element | None, name: str) -> list[ET.Element]:
    if element is None:
        return []
    return [child for child in element if _local(child.tag)[1] == name]


def _text(element: ET.Element | None, *path: str) -> str:
    """The stripped text at a path of local names below `element`, or ''."""
    for name in path:
        element = _child(element, name)
    return (element.text or "").strip() if element is not None else ""


def _deep(element: ET.Element, name: str) -> str:
    """The text of the first element anywhere below `element` with this local name, or ''."""
    for found in element.iter():
        if _local(found.tag)[1] == name:
            return (found.text or "").strip()
    return ""


def _mailing_address(contact: ET.Element) -> str:
    """Where letters to the contact go (truancy letters): the Mailing address, else Home,
    else the first, as lines: "263 New Street, Apt 2" / "Grand Bend, TX 78834"."""
    addresses = _children(contact, "Address")
    order = {"mailing": 0, "home": 1}
    addresses.sort(key=lambda a: order.get(_descriptor(_text(a, "AddressType")).lower(), 2))
    if not addresses:
        return ""
    address = addresses[0]
    street = ", ".join(filter(None, [_text(address, "StreetNumberName"),
                                     _text(address, "ApartmentRoomSuiteNumber")]))  # fmt: skip
    state = _descriptor(_text(address, "StateAbbreviation"))
    place = " ".join(filter(None, [state, _text(address, "PostalCode")]))
    town = ", ".join(filter(None, [_text(address, "City"), place]))
    return "\n".join(filter(None, [street, town]))[:500]


def _descriptor(value: str) -> str:
    """'uri://ed-fi.org/TravelDirectionDescriptor#From School' -> 'From School'."""
    return value.rsplit("#", 1)[-1].strip()


def _date(value: str, what: str) -> tuple[dt.date | None, str | None]:
    """(date, None), or (None, why it is not a usable date)."""
    if not value:
        return None, f"the {what} is missing"
    try:
        return dt.date.fromisoformat(value[:10]), None
    except ValueError:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", value[:10]):
            return None, f"the {what} {value} is not a real date"
        return None, f"the {what} {value!r} is not a date written like 2021-08-31"


def _time(value: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat(value) if value else None
    except ValueError:
        return None


def _grade(descriptor: str) -> str:
    text = _descriptor(descriptor)
    return GRADES.get(text.lower(), text[:8])


# ---------------------------------------------------------------------------------------------
# The import


def import_edfi(
    path_or_file,
    *,
    district: District,
    school: School | None = None,
    actor=None,
    apply: bool = False,
    name: str = "",
    report: Report | None = None,
    progress: Progress | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Report:
    """Import one Ed-Fi 5.x interchange file (a path or an uploaded file) into `district`.

    `school` places new students of a Student file that says nothing of their school, and
    limits the other files to that school. A dry run (the default) saves nothing.
    """
    if not name:
        label = path_or_file if isinstance(path_or_file, str | pathlib.Path) else ""
        name = pathlib.Path(str(label or getattr(path_or_file, "name", "") or "upload.xml")).name
    report = report or Report(source=name)
    report.standard = "Ed-Fi"
    source = _Source(path_or_file, name, progress)
    try:
        size = source.size()
        if size > max_file_bytes:
            raise FileProblem(
                name,
                f"is {size / 1024**2:,.0f} MB, more than the {max_file_bytes / 1024**2:,.0f} MB "
                "Last Bell takes in one file. Export the schools one by one and try again.",
            )
        kind, root, namespace = _interchange(source)
        report.version = f"{namespace.rstrip('/').rsplit('/', 1)[-1]} {root}"
        with transaction.atomic():
            run = _Run(source, district, school, report, actor)
            getattr(run, f"import_{kind}")()
            if apply:
                audit_record(
                    action="import.edfi", actor=actor, target=school or district,
                    school=school, district=district, via=Via.IMPORT,
                    after={"source": name, "interchange": root, "counts": report.counts()},
                    label=f"Ed-Fi import {name}"[:300],
                )  # fmt: skip
            else:
                raise _Rollback
    except _Rollback:
        pass
    except FileProblem as problem:
        report.file_error(problem.file, problem.message)
    report.rows.sort(key=lambda r: r.row)  # batches report late; the file's order reads best
    report.applied = apply and report.ok
    return report


class _Run:
    def __init__(self, source: _Source, district, school, report: Report, actor):
        self.source, self.file = source, source.name
        self.district, self.school, self.report, self.actor = district, school, report, actor
        self.today = timezone.now().astimezone(zoneinfo.ZoneInfo(district.timezone)).date()

    def add(self, row, outcome, kind, key, reason=""):
        self.report.add(self.file, row, outcome, kind, key, reason)

    def records(self, kind: str) -> Iterator[tuple[int, str, ET.Element]]:
        """The records this interchange kind reads; any others are reported as skipped."""
        wanted = RECORDS[kind]
        for position, record, element in _records(self.source, self.source.progress):
            if record in wanted:
                yield position, record, element
            else:
                key = (_deep(element, "StudentUniqueId") or _deep(element, "PersonId")
                       or element.get("id", ""))  # fmt: skip
                self.add(position, Outcome.SKIPPED, record, key, "not something Last Bell keeps")

    def schools_by_code(self, codes) -> dict[str, School]:
        codes = {c for c in codes if c}
        found = School.objects.filter(district=self.district, code__in=codes)
        return {s.code: s for s in found}

    # students --------------------------------------------------------------------------------

    def import_students(self):
        # A first pass reads the StudentSchoolAssociations, which may come after the students.
        placements: dict[str, tuple[str, str, str]] = {}  # sis id -> (school id, entry, grade)
        for _, record, element in _records(self.source):
            if record == "StudentSchoolAssociation":
                sis = _deep(_within(element, "StudentReference"), "StudentUniqueId")
                placements.setdefault(sis, (
                    _deep(_within(element, "SchoolReference"), "SchoolId"),
                    _text(element, "EntryDate"), _grade(_text(element, "EntryGradeLevel")),
                ))  # fmt: skip
        schools = self.schools_by_code(p[0] for p in placements.values())

        def parsed():
            seen: dict[str, int] = {}
            for position, record, element in self.records(STUDENTS):
                if record == "StudentSchoolAssociation":
                    sis = _deep(element, "StudentUniqueId")
                    code = _deep(_within(element, "SchoolReference"), "SchoolId")
                    if code not in schools:
                        why = f"no school with the code {code} in Last Bell"
                        self.add(position, Outcome.REJECTED, "school enrollment", sis, why)
                    else:
                        self.add(position, Outcome.KEPT, "school enrollment", sis,
                                 f"places the student at {schools[code].name}")  # fmt: skip
                    continue
                sis = _text(element, "StudentUniqueId")
                first = _text(element, "Name", "FirstName")
                last = _text(element, "Name", "LastSurname")
                born, problem = _date(_text(element, "BirthData", "BirthDate"), "birth date")
                if born is None and problem and problem.endswith("is missing"):
                    problem = None  # Last Bell does not keep it: a missing one is no problem
                elif born and born > self.today:
                    problem = f"the birth date {born} is in the future"
                if not sis:
                    problem = "the student has no StudentUniqueId"
                elif len(sis) > 64:
                    problem = "the StudentUniqueId is longer than 64 characters"
                elif sis in seen:
                    problem = f"this student is already in the file (record {seen[sis]})"
                elif not first or not last:
                    problem = "the student has no first name or last name"
                if problem:
                    self.add(position, Outcome.REJECTED, "student", sis, problem)
                    continue
                seen[sis] = position
                values = {
                    "first_name": first[:100],
                    "last_name": last[:100],
                    "preferred_name": _text(element, "Name", "PreferredFirstName")[:100],
                }
                yield position, sis, values, placements.get(sis)

        for batch in _batches(parsed(), BATCH_SIZE):
            self.save_students(batch, schools)

    def save_students(self, batch, schools):
        existing: dict[str, list[Student]] = {}
        for student in Student.objects.filter(
            school__district=self.district, sis_id__in=[b[1] for b in batch]
        ).order_by("-enrolled_on", "pk"):
            existing.setdefault(student.sis_id, []).append(student)
        creates, created_rows, updates = [], [], []
        fields = ["first_name", "last_name", "preferred_name", "grade", "school", "homeroom"]
        for position, sis, values, placement in batch:
            matches = existing.get(sis, [])
            target = None
            if placement:
                code, entry, grade = placement
                if code not in schools:
                    why = (
                        f"its StudentSchoolAssociation names school {code}, and no school in "
                        "Last Bell has that code: set the school's code and try again"
                    )
                    self.add(position, Outcome.REJECTED, "student", sis, why)
                    continue
                target = schools[code]
                if grade:
                    values = {**values, "grade": grade}
            student = next((s for s in matches if target and s.school_id == target.pk),
                           None) or next(iter(matches), None)  # fmt: skip
            if student is None:
                target = target or self.school
                if target is None:
                    why = ("the file does not say the student's school (no "
                           "StudentSchoolAssociation): choose the school to import into and "
                           "try again")  # fmt: skip
                    self.add(position, Outcome.REJECTED, "student", sis, why)
                    continue
                entered = _date(placement[1], "entry date")[0] if placement else None
                creates.append(Student(
                    school=target, sis_id=sis, enrolled_on=entered or self.today,
                    **{"grade": "", **values},
                ))  # fmt: skip
                created_rows.append((position, sis))
                continue
            before = [getattr(student, f + ("_id" if f in ("school", "homeroom") else ""))
                      for f in fields]  # fmt: skip
            for field, value in values.items():
                setattr(student, field, value)
            if target and student.school_id != target.pk:
                student.school_id, student.homeroom_id = target.pk, None
            after = [getattr(student, f + ("_id" if f in ("school", "homeroom") else ""))
                     for f in fields]  # fmt: skip
            if before == after:
                self.add(position, Outcome.KEPT, "student", sis)
                continue
            updates.append(student)
            changed = [f for f, b, a in zip(fields, before, after, strict=True) if b != a]
            reason = "changed: " + ", ".join(f.replace("_", " ") for f in changed)
            self.add(position, Outcome.UPDATED, "student", sis, reason)
        Student.objects.bulk_create(creates)
        _update_rows(Student, updates, fields)
        for position, sis in created_rows:
            self.add(position, Outcome.CREATED, "student", sis)

    # contacts --------------------------------------------------------------------------------

    def import_contacts(self):
        refs: dict[str, str] = {}  # a Contact's id attribute -> its ContactUniqueId
        links: list[tuple[int, str, str, str]] = []  # (position, student, contact, relation)

        def parsed():
            seen: dict[str, int] = {}
            for position, record, element in self.records(CONTACTS):
                if record == "StudentContactAssociation":
                    reference = _child(element, "ContactReference")
                    contact = _deep(reference, "ContactUniqueId") if reference is not None else ""
                    if not contact and reference is not None and reference.get("ref"):
                        contact = "ref:" + reference.get("ref", "")
                    links.append((position, _deep(element, "StudentUniqueId"), contact,
                                  _descriptor(_text(element, "Relation"))))  # fmt: skip
                    continue
                key = _text(element, "ContactUniqueId")
                if element.get("id"):
                    refs[element.get("id", "")] = key
                values, problem = self.contact_values(element)
                if not key:
                    problem = "the contact has no ContactUniqueId"
                elif len(key) > 64:
                    problem = "the ContactUniqueId is longer than 64 characters"
                elif key in seen:
                    problem = f"this contact is already in the file (record {seen[key]})"
                if problem:
                    self.add(position, Outcome.REJECTED, "guardian", key, problem)
                    continue
                seen[key] = position
                yield position, key, values

        for batch in _batches(parsed(), BATCH_SIZE):
            self.save_guardians(batch)
        for batch in _batches(links, BATCH_SIZE):
            self.save_links(batch, refs)

    def contact_values(self, element) -> tuple[dict, str | None]:
        first = _text(element, "Name", "FirstName")
        last = _text(element, "Name", "LastSurname")
        emails = _children(element, "ElectronicMail")
        emails.sort(key=lambda e: _text(e, "PrimaryEmailAddressIndicator").lower() != "true")
        email = _text(emails[0], "ElectronicMailAddress") if emails else ""
        problem = None if first or last else "the contact has no name"
        if email and not problem:
            try:
                validate_email(email)
            except ValidationError:
                problem = f"the email {email!r} is not an email address"
        phones = [(_descriptor(_text(p, "TelephoneNumberType")).lower(),
                   _text(p, "TextMessageCapabilityIndicator").lower() == "true",
                   _text(p, "OrderOfPriority"), _text(p, "TelephoneNumber"))
                  for p in _children(element, "Telephone")]  # fmt: skip
        phones = [p for p in phones if p[3] and p[0] != "fax"]
        phones.sort(key=lambda p: (p[0] != "mobile", not p[1],
                                   int(p[2]) if p[2].isdigit() else 99))  # fmt: skip
        language = ""
        for spoken in _children(element, "Language"):
            code = _descriptor(_text(spoken, "Language")).lower()
            if code in LANGUAGES:
                language = LANGUAGES[code]
                break
        values = {
            "first_name": first[:100],
            "last_name": last[:100],
            "email": email[:254],
            "mobile": phones[0][3][:40] if phones else "",
            "mailing_address": _mailing_address(element),
            "language": language,
        }
        return values, problem

    def save_guardians(self, batch):
        languages = {code for code, _ in settings.LANGUAGES}
        existing = {
            g.source_id: g
            for g in Guardian.objects.filter(
                district=self.district, source_id__in=[b[1] for b in batch]
            )
        }
        creates, created_rows, updates = [], [], []
        fields = ["first_name", "last_name", "email", "mobile", "mailing_address"]
        for position, key, values in batch:
            language = values.pop("language")
            guardian = existing.get(key)
            if guardian is None:
                guardian = Guardian(district=self.district, source_id=key, **values)
                if language in languages:
                    guardian.language = language
                creates.append(guardian)
                created_rows.append((position, key))
                continue
            # An empty email or phone in the file never blanks what the guardian gave.
            changed = [f for f in fields if values[f] and getattr(guardian, f) != values[f]]
            if not changed:
                self.add(position, Outcome.KEPT, "guardian", key)
                continue
            for field in changed:
                setattr(guardian, field, values[field])
            updates.append(guardian)
            reason = "changed: " + ", ".join(f.replace("_", " ") for f in changed)
            self.add(position, Outcome.UPDATED, "guardian", key, reason)
        Guardian.objects.bulk_create(creates)
        _update_rows(Guardian, updates, fields)
        for position, key in created_rows:
            self.add(position, Outcome.CREATED, "guardian", key)

    def save_links(self, batch, refs):
        contact_keys = {refs.get(c[4:], "") if c.startswith("ref:") else c for _, _, c, _ in batch}
        guardians = dict(Guardian.objects.filter(
            district=self.district, source_id__in=contact_keys - {""}
        ).values_list("source_id", "pk"))  # fmt: skip
        students: dict[str, int] = {}
        students_qs = Student.objects.filter(
            school__district=self.district, sis_id__in={b[1] for b in batch}
        )
        if self.school:
            students_qs = students_qs.filter(school=self.school)
        for sis, pk in students_qs.order_by("enrolled_on", "pk").values_list("sis_id", "pk"):
            students[sis] = pk  # the latest enrollment wins
        wanted = []
        for position, sis, contact, relation in batch:
            key = refs.get(contact[4:], "") if contact.startswith("ref:") else contact
            label = f"{key or contact.removeprefix('ref:')} → {sis}"
            if not contact:
                why = "the association does not say which contact it is for"
            elif not key:
                why = (f"it refers to the contact {contact[4:]}, which is not in this file "
                       "(see the Contact records)")  # fmt: skip
            elif key not in guardians:
                why = f"the contact {key} was not imported (see its own record)"
            elif sis not in students:
                at = self.school.name if self.school else "this district"
                why = f"no student with id {sis} at {at}: import the students first"
            else:
                wanted.append((position, label, guardians[key], students[sis], relation))
                continue
            self.add(position, Outcome.REJECTED, "guardian link", label, why)
        existing = set(GuardianLink.objects.filter(
            guardian_id__in={w[2] for w in wanted}, student_id__in={w[3] for w in wanted}
        ).values_list("guardian_id", "student_id"))  # fmt: skip
        creates = []
        for position, label, guardian_pk, student_pk, relation in wanted:
            if (guardian_pk, student_pk) in existing:
                self.add(position, Outcome.KEPT, "guardian link", label)
                continue
            existing.add((guardian_pk, student_pk))
            creates.append(GuardianLink(guardian_id=guardian_pk, student_id=student_pk,
                                        relationship=relation[:50]))  # fmt: skip
            self.add(position, Outcome.CREATED, "guardian link", label)
        GuardianLink.objects.bulk_create(creates)

    # attendance ------------------------------------------------------------------------------

    def import_attendance(self):
        self.codes = CodeMap.for_district(self.district)
        seen: dict[tuple[str, str, dt.date], int] = {}
        for batch in _batches(self.attendance_events(seen), BATCH_SIZE):
            codes = {b[2] for b in batch}
            schools = self.schools_by_code(codes)
            students = {
                (code, sis): (pk, school_id, f"{first} {last}".strip())
                for pk, sis, code, school_id, first, last in Student.objects.filter(
                    school__in=schools.values(), sis_id__in={b[1] for b in batch}
                )
                .order_by("enrolled_on", "pk")
                .values_list(
                    "pk", "sis_id", "school__code", "school_id", "first_name", "last_name"
                )  # fmt: skip
            }
            events, rows = [], []
            for position, sis, code, date, key, kind, excused, departs, reason, minutes in batch:
                label = f"{sis} {date}"
                if code not in schools:
                    why = (f"no school with the code {code} in Last Bell: set the school's code "
                           "in its settings and try again")  # fmt: skip
                    self.add(position, Outcome.REJECTED, "absence", label, why)
                    continue
                found = students.get((code, sis))
                if found is None:
                    why = f"no student with id {sis} at {schools[code].name}"
                    self.add(position, Outcome.REJECTED, "absence", label, why)
                    continue
                spec = AbsenceSpec(date=date, kind=kind, excused=excused, departs_at=departs,
                                   reason=reason, minutes=minutes)  # fmt: skip
                events.append(AbsenceEvent(*found, spec, key if kind != PRESENT else ""))
                rows.append((position, label))
            outcomes = absences_record_many(
                events, district_id=self.district.pk, source_detail=f"Ed-Fi {self.file}",
                actor=self.actor, via=Via.IMPORT, each_audited=False,
            )  # fmt: skip
            for (position, label), (_, outcome) in zip(rows, outcomes, strict=True):
                result, why = ABSENCE_OUTCOMES[outcome]
                self.add(position, result, "absence", label, why)

    def attendance_events(self, seen):
        for position, _, element in self.records(ATTENDANCE):
            event = _child(element, "AttendanceEvent")
            if event is None:
                event = element  # 5.x groups them; an export may not
            sis = _deep(_within(element, "StudentReference"), "StudentUniqueId")
            code = _deep(_within(element, "SchoolReference"), "SchoolId")
            date_text = _text(event, "EventDate")
            raw_category = _text(event, "AttendanceEventCategory")
            category = _descriptor(raw_category)
            departs_text = _text(event, "DepartureTime") or _text(element, "DepartureTime")
            departs = _time(departs_text)
            duration = _text(event, "EventDuration")
            minutes_text = (_text(event, "SchoolAttendanceDuration")
                            or _text(element, "SchoolAttendanceDuration"))  # fmt: skip
            minutes = int(minutes_text) if minutes_text.isdigit() else None
            label = f"{sis} {date_text}"
            date, problem = _date(date_text, "event date")
            mapped = self.codes.category(raw_category)
            kind, excused = Category.split(mapped) if mapped else ("", False)
            if not sis:
                problem = "the event does not say which student it is for"
            elif not code:
                problem = "the event does not say which school it is for"
            elif problem:
                pass
            elif self.school and code != self.school.code:
                problem = f"the event is for school {code}, not {self.school.name}"
            elif not kind:
                problem = self.codes.unknown(raw_category)
            elif minutes_text and (minutes is None or minutes > 1440):
                problem = (f"the SchoolAttendanceDuration {minutes_text!r} is not a number of "
                           "minutes like 45")  # fmt: skip
            elif departs_text and departs is None:
                problem = f"the departure time {departs_text!r} is not a time like 13:15"
            if not problem and kind == "absent" and departs:
                # A part-day absence with a departure time is an early departure (as the API).
                try:
                    part_day = duration and float(duration) < 1
                except ValueError:
                    part_day = False
                kind = "early_departure" if part_day else kind
            if not problem and kind == "early_departure" and departs is None:
                problem = (f"a {category} event needs the time the student leaves "
                           "(DepartureTime) to show at dismissal")  # fmt: skip
            if not problem and (sis, code, date) in seen:
                problem = (f"this student already has an event on this day in the file "
                           f"(record {seen[(sis, code, date)]})")  # fmt: skip
            if problem:
                self.add(position, Outcome.REJECTED, "absence", label, problem)
                continue
            seen[(sis, code, date)] = position
            key = f"edfi:{code}:{sis}:{date}"
            reason = _text(event, "AttendanceEventReason")
            yield position, sis, code, date, key, kind, excused, departs, reason, minutes

    # buses -----------------------------------------------------------------------------------

    def import_buses(self):
        """Each school's whole bus feed: see the module's docstring."""
        feeds: dict[int, list[Assignment]] = {}
        schools: dict[int, School] = {}
        if self.school:
            feeds[self.school.pk], schools[self.school.pk] = [], self.school
        rows: dict[str, list[int]] = {}  # sis id -> its records with a bus, for the report
        self.transport_records = 0
        for batch in _batches(self.bus_records(), BATCH_SIZE):
            found = (
                Student.objects.filter(
                    school__district=self.district, sis_id__in={b[1] for b in batch}
                )
                .active_on(self.today)
                .select_related("school")
                .order_by("enrolled_on", "pk")
            )
            if self.school:
                found = found.filter(school=self.school)
            where = {s.sis_id: s.school for s in found}
            for position, sis, details in batch:
                school = where.get(sis)
                if school is None:
                    at = self.school.name if self.school else "this district"
                    self.add(position, Outcome.REJECTED, "bus", sis,
                             f"no student with id {sis} at {at}")  # fmt: skip
                    continue
                schools[school.pk] = school
                feed = feeds.setdefault(school.pk, [])
                for assignment in details:
                    feed.append(assignment)
                rows.setdefault(sis, []).append(position)
        if not self.transport_records:
            raise FileProblem(self.file, "has no StudentTransportation records. Last Bell reads "
                              "a school's whole bus feed from it, so it would end every bus it "
                              "set: choose the StudentTransportation file.")  # fmt: skip
        if self.school and not feeds[self.school.pk]:
            raise FileProblem(self.file, f"has no student of {self.school.name} riding a bus home. "
                              "Applied as the school's whole bus feed, it would end every bus "
                              "it set: check that this is the school's file.")  # fmt: skip
        for school_pk, assignments in feeds.items():
            school = schools[school_pk]
            feed = bus_feed_apply(school=school, assignments=assignments, apply=True,
                                  source_detail=f"Ed-Fi {self.file}", actor=self.actor)  # fmt: skip
            for position, sis, why in feed.rejected:
                self.add(position, Outcome.REJECTED, "bus", sis, why)
            for outcome, ids in ((Outcome.CREATED, feed.created), (Outcome.UPDATED, feed.updated)):
                for sis in ids:
                    self.add(rows[sis][0], outcome, "bus", sis)
            for sis, why in feed.kept:
                self.add(rows[sis][0], Outcome.KEPT, "bus", sis, why)
            for sis in feed.ended:
                self.add(
                    0,
                    Outcome.UPDATED,
                    "bus",
                    sis,
                    f"no longer in {school.name}'s feed: the bus default it made ends",
                )

    def bus_records(self):
        for position, _, element in self.records(TRANSPORTATION):
            self.transport_records += 1
            sis = _deep(_within(element, "StudentReference"), "StudentUniqueId")
            kind = _descriptor(_text(element, "TransportationType"))
            details = _children(element, "StudentBusDetails")
            if not sis:
                self.add(position, Outcome.REJECTED, "bus", sis,
                         "the record does not say which student it is for")  # fmt: skip
                continue
            if kind and not re.search(r"\b(bus|van)\b", kind, re.IGNORECASE):
                self.add(position, Outcome.SKIPPED, "bus", sis,
                         f"the transportation type is {kind}, not a school bus")  # fmt: skip
                continue
            if not details:
                self.add(position, Outcome.SKIPPED, "bus", sis, "no school bus in this record")
                continue
            assignments, problem = [], None
            for bus in details:
                direction = _descriptor(_text(bus, "TravelDirection"))
                if direction.lower() == "to school":
                    problem = problem or ("skip", "a ride to school only: Last Bell plans the "
                                          "way home")  # fmt: skip
                    continue
                days = [_descriptor(d.text or "") for d in _children(bus, "TravelDayofWeek")]
                unknown = [d for d in days if d.lower() not in DAYS]
                if unknown:
                    problem = ("reject", f"the travel day {unknown[0]!r} is not a day of the week")
                    continue
                mask = weekdays.mask_of(DAYS[d.lower()] for d in days) or weekdays.SCHOOL_WEEK
                number = re.sub(r"^bus\s*#?\s*", "", _text(bus, "BusNumber"), flags=re.I)
                route = _descriptor(_text(bus, "BusRoute"))
                assignments.append(Assignment(
                    row=position, student_id=sis, bus=number[:32], weekdays=mask,
                    route_name=route[:200] if route and route != number else "",
                ))  # fmt: skip
            if not assignments and problem:
                outcome = Outcome.SKIPPED if problem[0] == "skip" else Outcome.REJECTED
                self.add(position, outcome, "bus", sis, problem[1])
                continue
            yield position, sis, assignments
