"""Ed-Fi 5.x interchange XML (imports/edfi.py), with the real Ed-Fi sample files."""

import datetime as dt
import pathlib
import xml.etree.ElementTree as ET  # noqa: S405 — reads the trusted sample files

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lastbell import testing
from lastbell.api import v1
from lastbell.attendance.codes import CodeMap
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.conftest import SCHOOL_DAY
from lastbell.imports import edfi
from lastbell.imports.edfi import import_edfi
from lastbell.imports.tests.helpers import ROOT, table_counts
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.plans.board import day_board
from lastbell.plans.models import LongTermDefault, PlanType, Source
from lastbell.plans.services import PlanSpec, default_set

pytestmark = pytest.mark.django_db

SAMPLE = (ROOT / "../shared/data/edfi-5.2-sample").resolve()
STUDENTS = SAMPLE / "Student.xml"
CONTACTS = SAMPLE / "Contact-excerpt.xml"
ATTENDANCE = SAMPLE / "StudentSchoolAttendance-excerpt.xml"
TRANSPORTATION = SAMPLE / "StudentTransportation.xml"
CALENDAR = SAMPLE / "EducationOrgCalendar.xml"
SCHOOL_ID = "255901001"  # the Grand Bend sample's elementary school
NS = "http://ed-fi.org/5.2.0"


@pytest.fixture
def grand_bend(district):
    # One term from the sample's school year to this one: its 2021 days and today are school days.
    return testing.make_school(district, "Grand Bend Elementary", code=SCHOOL_ID,
                               term=(dt.date(2021, 8, 23), dt.date(2027, 6, 11)))  # fmt: skip


def sis_ids(path, record, *path_to_id):
    """The student ids of a sample file's records, read whole (the files are small)."""
    root = ET.parse(path).getroot()  # noqa: S314
    found = []
    for element in root.iter(f"{{{NS}}}{record}"):
        found.append(element.find(".//" + "/".join(f"{{{NS}}}{p}" for p in path_to_id)).text)
    return found


def enroll(school, ids, on=dt.date(2021, 8, 1)):
    for sis in dict.fromkeys(ids):
        Student.objects.create(school=school, sis_id=sis, first_name="Test", last_name=sis,
                               grade="3", enrolled_on=on)  # fmt: skip


def write(tmp_path, body, root="InterchangeStudent", ns=NS, name="file.xml"):
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">{body}</{root}>',
                    encoding="utf-8")  # fmt: skip
    return path


def student_xml(sis, first="Ana", last="Rivera", born="2015-04-02"):
    return (f"<Student><StudentUniqueId>{sis}</StudentUniqueId><Name><FirstName>{first}"
            f"</FirstName><LastSurname>{last}</LastSurname></Name><BirthData><BirthDate>{born}"
            "</BirthDate></BirthData></Student>")  # fmt: skip


def reasons(report):
    return [r.reason for r in report.rejected()]


# --- Students --------------------------------------------------------------------------------


def test_it_dry_runs_imports_and_reruns_the_sample_students(grand_bend, district):
    before = table_counts()
    dry = import_edfi(STUDENTS, district=district, school=grand_bend)
    assert dry.ok and not dry.applied
    assert dry.count("created", "student") == 960 and dry.count("skipped", "Person") == 3
    assert table_counts() == before
    assert "Dry run (nothing saved): Student.xml (Ed-Fi 5.2.0 InterchangeStudent)" in dry.summary()

    done = import_edfi(STUDENTS, district=district, school=grand_bend, apply=True)
    assert done.applied and done.count("created", "student") == 960
    assert grand_bend.students.count() == 960
    tyrone = Student.objects.get(sis_id="604821")
    assert (tyrone.first_name, tyrone.last_name, tyrone.preferred_name) == ("Tyrone", "Dyer", "Ty")
    assert done.rows[0].row == 1 and done.rows[0].key == "604821"
    event = AuditEvent.objects.get(action="import.edfi")
    assert event.via == "import" and event.after["counts"]["student"]["created"] == 960

    again = import_edfi(STUDENTS, district=district, school=grand_bend, apply=True)
    assert again.count("kept", "student") == 960 and again.count("created") == 0
    assert again.count("updated") == 0


def test_a_student_without_a_school_is_rejected_and_one_in_last_bell_stays(grand_bend, district):
    enroll(grand_bend, ["604821"])
    report = import_edfi(STUDENTS, district=district, apply=True)
    assert report.count("updated", "student") == 1  # the name comes from the SIS
    assert report.count("rejected", "student") == 959
    assert "does not say the student's school" in reasons(report)[0]
    assert Student.objects.get(sis_id="604821").school == grand_bend


def test_a_school_association_in_the_file_places_the_student(tmp_path, grand_bend, district):
    other = testing.make_school(district, "Other", code="999")
    path = write(tmp_path, student_xml("1001") + student_xml("1002") + (
        "<StudentSchoolAssociation><StudentReference><StudentIdentity><StudentUniqueId>1001"
        "</StudentUniqueId></StudentIdentity></StudentReference><SchoolReference><SchoolIdentity>"
        f"<SchoolId>{SCHOOL_ID}</SchoolId></SchoolIdentity></SchoolReference>"
        "<EntryDate>2021-08-23</EntryDate><EntryGradeLevel>"
        "uri://ed-fi.org/GradeLevelDescriptor#Third grade</EntryGradeLevel>"
        "</StudentSchoolAssociation>"))  # fmt: skip
    report = import_edfi(path, district=district, school=other, apply=True)
    assert report.count("created", "student") == 2
    placed = Student.objects.get(sis_id="1001")
    assert (placed.school, placed.grade, placed.enrolled_on) == (grand_bend, "3",
                                                                 dt.date(2021, 8, 23))  # fmt: skip
    assert Student.objects.get(sis_id="1002").school == other


def test_bad_student_records_are_rejected_one_by_one(tmp_path, grand_bend, district):
    path = write(tmp_path, student_xml("1", born="2014-02-30") + student_xml("2", born="3020-01-01")
                 + student_xml("3", born="13/02/2014") + student_xml("4", first="")
                 + student_xml("5") + student_xml("5"))  # fmt: skip
    report = import_edfi(path, district=district, school=grand_bend, apply=True)
    assert reasons(report) == [
        "the birth date 2014-02-30 is not a real date",
        "the birth date 3020-01-01 is in the future",
        "the birth date '13/02/2014' is not a date written like 2021-08-31",
        "the student has no first name or last name",
        "this student is already in the file (record 5)",
    ]
    assert [r.row for r in report.rejected()] == [1, 2, 3, 4, 6]
    assert list(Student.objects.values_list("sis_id", flat=True)) == ["5"]


# --- Contacts --------------------------------------------------------------------------------


def test_it_imports_the_sample_contacts_and_their_links(grand_bend, district):
    import_edfi(STUDENTS, district=district, school=grand_bend, apply=True)
    dry = import_edfi(CONTACTS, district=district, school=grand_bend)
    assert dry.count("created", "guardian") == 40 and dry.count("created", "guardian link") == 40
    assert not Guardian.objects.exists()

    done = import_edfi(CONTACTS, district=district, school=grand_bend, apply=True)
    assert done.ok and not done.rejected()
    carmen = Guardian.objects.get(source_id="778393")
    assert (carmen.first_name, carmen.last_name, carmen.mobile) == ("Carmen", "Dyer",
                                                                    "(950) 342 7522")  # fmt: skip
    link = GuardianLink.objects.get(guardian=carmen)
    assert (link.student.sis_id, link.relationship) == ("604821", "Mother")
    # Manuel's only number is a fax: no one texts a fax machine.
    assert Guardian.objects.get(source_id="779017").mobile == ""
    assert carmen.mailing_address == "263 New Street\nGrand Bend, TX 78834"  # for letters

    again = import_edfi(CONTACTS, district=district, school=grand_bend, apply=True)
    assert again.count("kept") == 80 and again.count("created") == again.count("updated") == 0


def contact_xml(key, *, language="", phones=(), email=""):
    tel = "".join(f"<Telephone><TelephoneNumber>{n}</TelephoneNumber><TelephoneNumberType>"
                  f"uri://ed-fi.org/TelephoneNumberTypeDescriptor#{t}</TelephoneNumberType>"
                  "</Telephone>" for t, n in phones)  # fmt: skip
    mail = (f"<ElectronicMail><ElectronicMailAddress>{email}</ElectronicMailAddress>"
            "</ElectronicMail>") if email else ""  # fmt: skip
    lang = (f"<Language><Language>uri://ed-fi.org/LanguageDescriptor#{language}</Language>"
            "</Language>") if language else ""  # fmt: skip
    return (
        f'<Contact id="C{key}"><ContactUniqueId>{key}</ContactUniqueId><Name><FirstName>Rosa'
        f"</FirstName><LastSurname>Diaz</LastSurname></Name>{tel}{mail}{lang}</Contact>"
    )


def test_a_guardians_own_language_and_contact_details_are_never_overwritten(tmp_path, district):
    body = contact_xml("1", language="spa", email="rosa@example.org",
                       phones=[("Home", "555-0100"), ("Mobile", "555-0199")])  # fmt: skip
    path = write(tmp_path, body, root="InterchangeContact")
    import_edfi(path, district=district, apply=True)
    rosa = Guardian.objects.get()
    assert (rosa.language, rosa.email, rosa.mobile) == ("es", "rosa@example.org", "555-0199")
    rosa.language = "en"  # her own choice, later
    rosa.save()
    bare = write(tmp_path, contact_xml("1", language="spa"), root="InterchangeContact")
    report = import_edfi(bare, district=district, apply=True)
    assert report.count("kept", "guardian") == 1
    rosa.refresh_from_db()
    assert (rosa.language, rosa.email, rosa.mobile) == ("en", "rosa@example.org", "555-0199")


def test_links_to_unknown_people_are_rejected(tmp_path, grand_bend, district):
    link = ("<StudentContactAssociation><StudentReference><StudentIdentity><StudentUniqueId>"
            "{sis}</StudentUniqueId></StudentIdentity></StudentReference>"
            '<ContactReference ref="{ref}"/><Relation>uri://ed-fi.org/RelationDescriptor#Aunt'
            "</Relation></StudentContactAssociation>")  # fmt: skip
    enroll(grand_bend, ["S1"])
    body = (contact_xml("1", email="not-an-email") + contact_xml("2")
            + link.format(sis="S1", ref="C9") + link.format(sis="NOPE", ref="C2")
            + link.format(sis="S1", ref="C2"))  # fmt: skip
    report = import_edfi(write(tmp_path, body, root="InterchangeContact"), district=district,
                         school=grand_bend, apply=True)  # fmt: skip
    assert reasons(report) == [
        "the email 'not-an-email' is not an email address",
        "it refers to the contact C9, which is not in this file (see the Contact records)",
        f"no student with id NOPE at {grand_bend.name}: import the students first",
    ]
    assert GuardianLink.objects.get().relationship == "Aunt"


# --- Attendance ------------------------------------------------------------------------------


def test_the_sample_attendance_shows_on_the_board_of_its_day(grand_bend, district):
    enroll(grand_bend, sis_ids(ATTENDANCE, "StudentSchoolAttendanceEvent", "StudentUniqueId"))
    dry = import_edfi(ATTENDANCE, district=district)
    assert dry.count("created", "absence") == 79 and not Absence.objects.exists()
    # The excerpt's fourth event is a "Partial" day with no departure time, on a day the
    # student is already absent.
    assert dry.rejected()[0].row == 4
    assert "needs the time the student leaves" in dry.rejected()[0].reason

    done = import_edfi(ATTENDANCE, district=district, apply=True)
    assert done.applied and Absence.objects.count() == 79
    absence = Absence.objects.get(student__sis_id="604822", date=dt.date(2021, 8, 31))
    assert (absence.kind, absence.excused) == ("absent", True)
    assert absence.external_id == f"edfi:{SCHOOL_ID}:604822:2021-08-31"
    # The import audits itself once, with its counts; each absence names its file.
    (audit,) = AuditEvent.objects.filter(via="import")
    assert audit.action == "import.edfi" and audit.after["counts"]["absence"]["created"] == 79
    assert absence.source_detail.startswith("Ed-Fi ")
    rows = {r.sis_id: r for r in day_board(grand_bend, dt.date(2021, 8, 31)).rows}
    assert rows["604822"].plan_type == PlanType.ABSENCE and rows["604822"].excused is True

    again = import_edfi(ATTENDANCE, district=district, apply=True)
    assert again.count("kept", "absence") == 79 and Absence.objects.count() == 79


def test_the_event_key_and_categories_match_the_api(grand_bend):
    event = v1.EdFiAttendanceEvent(
        studentReference={"studentUniqueId": "604822"}, schoolReference={"schoolId": SCHOOL_ID},
        eventDate="2021-08-31",
        attendanceEventCategoryDescriptor="uri://ed-fi.org/AttendanceEventCategoryDescriptor#Tardy",
    )  # fmt: skip
    ours = v1._edfi_event(event, CodeMap.for_district(grand_bend.district))[0]
    assert ours.event_id == f"edfi:{SCHOOL_ID}:604822:2021-08-31"
    assert (ours.kind, ours.excused) == ("tardy", False)


def event_xml(sis, date, category, *, school=SCHOOL_ID, departs="", minutes=""):
    departure = f"<DepartureTime>{departs}</DepartureTime>" if departs else ""
    if minutes:
        departure += f"<SchoolAttendanceDuration>{minutes}</SchoolAttendanceDuration>"
    return (f"<StudentSchoolAttendanceEvent><AttendanceEvent><EventDate>{date}</EventDate>"
            "<AttendanceEventCategory>uri://ed-fi.org/AttendanceEventCategoryDescriptor#"
            f"{category}</AttendanceEventCategory></AttendanceEvent><StudentReference>"
            f"<StudentIdentity><StudentUniqueId>{sis}</StudentUniqueId></StudentIdentity>"
            "</StudentReference><SchoolReference><SchoolIdentity><SchoolId>"
            f"{school}</SchoolId></SchoolIdentity></SchoolReference>{departure}"
            "</StudentSchoolAttendanceEvent>")  # fmt: skip


def test_bad_attendance_events_are_rejected_and_a_tardy_replaces_the_absence(
    tmp_path, grand_bend, district
):
    enroll(grand_bend, ["S1", "S2"])
    day = "2021-09-01"
    body = (event_xml("S1", day, "Unexcused Absence") + event_xml("S2", day, "Early Departure",
            departs="13:15") + event_xml("NOPE", day, "Excused Absence")
            + event_xml("S1", "2021-02-30", "Excused Absence")
            + event_xml("S1", "2021-09-02", "Sick") + event_xml("S1", day, "Tardy")
            + event_xml("S1", day, "Excused Absence", school="42"))  # fmt: skip
    path = write(tmp_path, body, root="InterchangeStudentAttendance")
    report = import_edfi(path, district=district, apply=True)
    assert reasons(report) == [
        f"no student with id NOPE at {grand_bend.name}",
        "the event date 2021-02-30 is not a real date",
        "the attendance code 'Sick' is not one this district uses, so the row was left out; "
        "the codes it knows are Excused Absence, Unexcused Absence, Early Departure, Partial, "
        "Tardy, In Attendance. A district admin can add the code under Attendance codes, then "
        "import the file again",
        "this student already has an event on this day in the file (record 1)",
        "no school with the code 42 in Last Bell: set the school's code in its settings and "
        "try again",
    ]
    rows = {r.sis_id: r for r in day_board(grand_bend, dt.date(2021, 9, 1)).rows}
    assert (rows["S1"].plan_type, rows["S1"].excused) == (PlanType.ABSENCE, False)
    assert (rows["S2"].plan_type, rows["S2"].time) == (PlanType.EARLY_DISMISSAL, dt.time(13, 15))

    # A tardy is kept, with its minutes, and the student is at school for the day board.
    tardy = write(tmp_path, event_xml("S1", day, "Tardy", minutes="45"),
                  root="InterchangeStudentAttendance")  # fmt: skip
    replaced = import_edfi(tardy, district=district, apply=True)
    assert replaced.rows[0].outcome == "updated"
    kept = Absence.objects.get(student__sis_id="S1")
    assert (kept.kind, kept.minutes, kept.excused) == ("tardy", 45, False)
    rows = {r.sis_id: r for r in day_board(grand_bend, dt.date(2021, 9, 1)).rows}
    assert rows["S1"].plan_type != PlanType.ABSENCE


# --- Transportation --------------------------------------------------------------------------


def test_the_sample_buses_become_defaults_and_never_overwrite_staff(grand_bend, district, staff,
                                                                    on_school_day):  # fmt: skip
    enroll(grand_bend, sis_ids(TRANSPORTATION, "StudentTransportation", "StudentUniqueId"))
    walker = Student.objects.get(sis_id="604847")  # bus 202 in the file
    default_set(student=walker, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    dry = import_edfi(TRANSPORTATION, district=district, school=grand_bend)
    assert dry.ok and not LongTermDefault.objects.filter(source=Source.IMPORT).exists()
    assert "Ed-Fi 5.2.0 InterchangeStudentEnrollment" in dry.summary()

    done = import_edfi(TRANSPORTATION, district=district, school=grand_bend, apply=True)
    by_key = {r.key: r for r in done.rows}
    assert (by_key["604881"].outcome, by_key["604881"].reason) == (
        "skipped",
        "a ride to school only: Last Bell plans the way home",
    )
    assert by_key["604849"].outcome == "skipped"  # no StudentBusDetails
    assert (by_key["604847"].outcome, by_key["604847"].reason) == (
        "kept",
        "its default was set by staff",
    )
    assert done.count("skipped", "bus") == 7 and done.count("created", "bus") == 22
    assert not done.rejected()
    # Wednesday: 604822 rides Mon/Wed/Fri on bus 101; 604956 only Tue/Thu.
    rows = {r.sis_id: r for r in day_board(grand_bend, SCHOOL_DAY).rows}
    assert (rows["604822"].plan_type, rows["604822"].bus_number) == (PlanType.BUS, "101")
    assert rows["604956"].plan_type is None
    assert rows["604847"].plan_type == PlanType.WALK
    assert sorted(grand_bend.bus_routes.values_list("number", flat=True)) == ["101", "202", "303",
                                                                             "404"]  # fmt: skip

    again = import_edfi(TRANSPORTATION, district=district, school=grand_bend, apply=True)
    assert again.count("kept", "bus") == 23 and again.count("created") == 0
    assert again.count("updated") == 0


def test_a_file_for_another_school_ends_nothing(grand_bend, district, on_school_day):
    enroll(grand_bend, ["604822"])
    import_edfi(TRANSPORTATION, district=district, school=grand_bend, apply=True)
    elsewhere = testing.make_school(district, "Elsewhere", code="1")
    report = import_edfi(TRANSPORTATION, district=district, school=elsewhere, apply=True)
    assert not report.ok and "has no student of Elsewhere riding a bus home" in report.summary()
    assert LongTermDefault.objects.filter(source=Source.IMPORT, ends_on__isnull=True).count() == 1


# --- Whole-file problems ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"student_id,date\nS1,2021-08-31\n", "is not an XML file"),
        (b"", "is not an XML file"),
        (STUDENTS.read_bytes()[:150_000], "ends in the middle"),
        (CALENDAR.read_bytes(), "is an Ed-Fi InterchangeEducationOrgCalendar file"),
        (STUDENTS.read_bytes().replace(b"ed-fi.org/5.2.0", b"ed-fi.org/3.2.0"),
         "is Ed-Fi of another version (http://ed-fi.org/3.2.0)"),
        (b"<InterchangeStudent><Student/></InterchangeStudent>", "is XML but not an Ed-Fi"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><InterchangeStudent '
         b'xmlns="http://ed-fi.org/5.2.0"/>', "has a DOCTYPE"),
        (STUDENTS.read_bytes().replace(b"InterchangeStudent", b"InterchangeStudentEnrollment"),
         "has no StudentTransportation records"),
    ],
)  # fmt: skip
def test_a_bad_file_imports_nothing_and_says_why(tmp_path, grand_bend, district, monkeypatch,
                                                 content, message):  # fmt: skip
    monkeypatch.setattr(edfi, "BATCH_SIZE", 10)  # so a cut-off file has saved batches to undo
    path = tmp_path / "Student.xml"
    path.write_bytes(content)
    before = table_counts()
    report = import_edfi(path, district=district, school=grand_bend, apply=True)
    assert not report.ok and not report.applied
    assert message in report.summary()
    assert report.summary().startswith("Nothing was imported")
    assert table_counts() == before


def test_an_uploaded_file_works_like_a_path(grand_bend, district):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("Student.xml", STUDENTS.read_bytes())
    report = import_edfi(upload, district=district, school=grand_bend, apply=True)
    assert report.source == "Student.xml" and report.count("created", "student") == 960


# --- Queries ---------------------------------------------------------------------------------


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


@pytest.mark.parametrize("kind", ["students", "contacts", "buses"])
def test_queries_do_not_grow_with_the_file(tmp_path, grand_bend, district, on_school_day, kind):
    def file(n, start):
        ids = [f"Q{start + i}" for i in range(n)]
        enroll(grand_bend, ids)
        if kind == "students":
            return write(tmp_path, "".join(student_xml(i) for i in ids), name=f"{start}.xml")
        if kind == "contacts":
            links = "".join(
                "<StudentContactAssociation><StudentReference><StudentIdentity><StudentUniqueId>"
                f"{i}</StudentUniqueId></StudentIdentity></StudentReference><ContactReference>"
                f"<ContactIdentity><ContactUniqueId>{i}</ContactUniqueId></ContactIdentity>"
                "</ContactReference></StudentContactAssociation>" for i in ids)  # fmt: skip
            body = "".join(contact_xml(i) for i in ids) + links
            return write(tmp_path, body, root="InterchangeContact", name=f"{start}.xml")
        body = "".join(
            "<StudentTransportation><StudentReference><StudentIdentity><StudentUniqueId>"
            f"{i}</StudentUniqueId></StudentIdentity></StudentReference><StudentBusDetails>"
            f"<BusNumber>Bus {n % 7}</BusNumber></StudentBusDetails></StudentTransportation>"
            for i in ids)  # fmt: skip
        return write(tmp_path, body, root="InterchangeStudentEnrollment", name=f"{start}.xml")

    small, large = file(10, 0), file(100, 1000)
    few = queries(lambda: import_edfi(small, district=district, school=grand_bend, apply=True))
    many = queries(lambda: import_edfi(large, district=district, school=grand_bend, apply=True))
    assert many <= few + 5, (few, many)


# --- Command ---------------------------------------------------------------------------------


def test_the_command_dry_runs_applies_and_fails_on_a_bad_file(tmp_path, grand_bend, district,
                                                               capsys):  # fmt: skip
    call_command("import_edfi", str(STUDENTS), "--district", district.slug, "--school", SCHOOL_ID)
    assert "Dry run (nothing saved)" in capsys.readouterr().out
    assert not Student.objects.exists()
    call_command("import_edfi", str(STUDENTS), "--district", district.slug, "--school", SCHOOL_ID,
                 "--apply")  # fmt: skip
    assert Student.objects.count() == 960
    bad = pathlib.Path(tmp_path / "bad.xml")
    bad.write_text("not xml")
    with pytest.raises(SystemExit) as exit_:
        call_command("import_edfi", str(bad), "--district", district.slug)
    assert exit_.value.code == 1
    assert "is not an XML file" in capsys.readouterr().out
