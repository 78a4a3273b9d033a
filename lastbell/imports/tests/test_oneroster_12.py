"""A OneRoster 1.2 set: roles in roles.csv, primaryOrgSourcedId, preferred names, homerooms."""

import zoneinfo

import pytest
from django.utils import timezone

from lastbell.imports.oneroster import import_oneroster
from lastbell.imports.report import Outcome
from lastbell.imports.tests.helpers import read_csv, write_csv
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.schools.models import Homeroom, School

USER_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]


def user(sourced_id, given, family, **fields):
    row = dict.fromkeys(USER_COLUMNS, "")
    row.update(sourcedId=sourced_id, status="active", enabledUser="true", givenName=given,
               familyName=family, dateLastModified="2025-08-01T10:00:00.000Z")  # fmt: skip
    row.update(fields)
    return row


def role(sourced_id, user_id, role_name, org):
    return {"sourcedId": sourced_id, "status": "active", "dateLastModified": "2025-08-01",
            "userSourcedId": user_id, "roleType": "primary", "role": role_name,
            "beginDate": "2025-08-01", "endDate": "", "orgSourcedId": org,
            "userProfileSourcedId": ""}  # fmt: skip


def write_set(folder):
    folder.mkdir()
    write_csv(folder / "manifest.csv", [
        {"propertyName": "manifest.version", "value": "1.0"},
        {"propertyName": "oneroster.version", "value": "1.2"},
        {"propertyName": "file.orgs", "value": "bulk"},
        {"propertyName": "file.users", "value": "bulk"},
        {"propertyName": "file.roles", "value": "bulk"},
        {"propertyName": "file.classes", "value": "bulk"},
        {"propertyName": "file.enrollments", "value": "bulk"},
        {"propertyName": "file.demographics", "value": "absent"},
    ])  # fmt: skip
    org = {"status": "active", "dateLastModified": "2025-08-01", "identifier": ""}
    write_csv(folder / "orgs.csv", [
        {"sourcedId": "d1", **org, "name": "Riverside Unified", "type": "district",
         "parentSourcedId": ""},
        {"sourcedId": "s1", **org, "name": "Oak Elementary", "type": "school",
         "parentSourcedId": "d1"},
        {"sourcedId": "s2", **org, "name": "Pine Middle", "type": "school",
         "parentSourcedId": "d1"},
    ])  # fmt: skip
    write_csv(folder / "users.csv", [
        user("u1", "Alejandro", "Ruiz", identifier="100234", grades="03",
             preferredGivenName="Alex"),
        user("u2", "Bea", "Ruiz", identifier="100235", grades="KG", primaryOrgSourcedId="s1"),
        user("u3", "Carla", "Ruiz", email="carla@example.org", sms="555-0101",
             agentSourcedIds="u1,u2"),
        user("u4", "Dan", "Moss", identifier="200001", grades="07", enabledUser="false"),
        user("t1", "Terry", "Teach", email="t@school.org"),
    ])  # fmt: skip
    write_csv(folder / "roles.csv", [
        role("r1", "u1", "student", "s1"),
        role("r2", "u2", "student", "s1"),
        role("r3", "u3", "parent", "s1"),
        role("r4", "u4", "student", "s2"),
        role("r5", "t1", "teacher", "s1"),
    ])  # fmt: skip
    cls = {"status": "active", "dateLastModified": "2025-08-01", "grades": "", "courseSourcedId":
           "c1", "classCode": "", "location": "", "termSourcedIds": "", "subjects": "",
           "subjectCodes": "", "periods": ""}  # fmt: skip
    write_csv(folder / "classes.csv", [
        {"sourcedId": "k1", **cls, "title": "Room 12", "classType": "homeroom",
         "schoolSourcedId": "s1"},
        {"sourcedId": "k2", **cls, "title": "Math 3", "classType": "scheduled",
         "schoolSourcedId": "s1"},
    ])  # fmt: skip
    enr = {"status": "active", "dateLastModified": "2025-08-01", "schoolSourcedId": "s1",
           "primary": "false", "beginDate": "2025-08-15", "endDate": "2026-06-10"}  # fmt: skip
    write_csv(folder / "enrollments.csv", [
        {"sourcedId": "e1", **enr, "classSourcedId": "k1", "userSourcedId": "u1",
         "role": "student"},
        {"sourcedId": "e2", **enr, "classSourcedId": "k1", "userSourcedId": "u2",
         "role": "student"},
        {"sourcedId": "e3", **enr, "classSourcedId": "k1", "userSourcedId": "t1",
         "role": "teacher"},
        {"sourcedId": "e4", **enr, "classSourcedId": "k2", "userSourcedId": "u1",
         "role": "student"},
    ])  # fmt: skip
    return folder


@pytest.fixture
def roster(tmp_path):
    return write_set(tmp_path / "or12")


def test_it_imports_a_1_2_set(district, roster):
    district.timezone = "America/Chicago"
    district.save()
    report = import_oneroster(roster, district=district, apply=True)
    assert report.ok, report.file_errors
    assert report.version == "1.2"
    oak = School.objects.get(code="s1")
    assert (oak.name, oak.timezone) == ("Oak Elementary", "America/Chicago")
    assert School.objects.filter(district=district).count() == 2
    alex = Student.objects.get(sis_id="100234")
    assert (alex.first_name, alex.preferred_name, alex.grade) == ("Alejandro", "Alex", "3")
    assert alex.school == oak
    assert Student.objects.get(sis_id="100235").grade == "K"
    assert Homeroom.objects.get(school=oak).name == "Room 12"
    assert set(
        Student.objects.filter(homeroom__name="Room 12").values_list("sis_id", flat=True)
    ) == {
        "100234",
        "100235",
    }
    carla = Guardian.objects.get(source_id="u3")
    assert carla.mobile == "555-0101"
    assert set(GuardianLink.objects.values_list("student__sis_id", flat=True)) == {
        "100234",
        "100235",
    }
    assert GuardianLink.objects.first().relationship == "Parent"
    # A disabled student is not created; a disabled known student is withdrawn.
    assert report.count(Outcome.SKIPPED, "student") == 1
    assert not Student.objects.filter(sis_id="200001").exists()


def test_it_withdraws_and_reenrolls_from_the_sis(district, roster):
    import_oneroster(roster, district=district, apply=True)
    rows = read_csv(roster / "users.csv")
    rows[0].update(status="tobedeleted", grades="04")
    write_csv(roster / "users.csv", rows)
    report = import_oneroster(roster, district=district, apply=True)
    alex = Student.objects.get(sis_id="100234")
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(district.timezone)).date()
    assert (alex.withdrawn_on, alex.grade) == (today, "4")
    assert report.count(Outcome.UPDATED, "student") == 1
    assert "withdrawn on" in next(r.reason for r in report.rows if r.key == "100234")

    rows[0].update(status="active")
    write_csv(roster / "users.csv", rows)
    import_oneroster(roster, district=district, apply=True)
    assert Student.objects.get(sis_id="100234").withdrawn_on is None


def test_it_keeps_a_1_2_set_on_a_rerun(district, roster):
    import_oneroster(roster, district=district, apply=True)
    again = import_oneroster(roster, district=district, apply=True)
    assert again.count(Outcome.CREATED) == again.count(Outcome.UPDATED) == 0
    assert again.count(Outcome.KEPT, "homeroom enrollment") == 2
    assert again.count(Outcome.KEPT, "homeroom") == 1
