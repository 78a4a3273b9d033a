"""Queries per batch, never per row: 200 users cost what 20 do."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lastbell.imports.oneroster import import_oneroster
from lastbell.imports.report import Outcome
from lastbell.imports.tests.helpers import write_csv


def write_set(folder, families: int):
    folder.mkdir()
    write_csv(folder / "orgs.csv", [
        {"sourcedId": "s1", "status": "active", "dateLastModified": "", "name": "Oak",
         "type": "school", "identifier": "", "parentSourcedId": ""},
    ])  # fmt: skip
    users, enrollments = [], []
    base = {"status": "active", "dateLastModified": "2025-08-01", "enabledUser": "TRUE",
            "orgSourcedIds": "s1", "email": "", "sms": "", "phone": ""}  # fmt: skip
    for n in range(families):
        users.append({**base, "sourcedId": f"st{n}", "role": "student", "givenName": "Kid",
                      "familyName": f"F{n}", "identifier": f"S{n:05}", "agentSourcedIds": "",
                      "grades": "04"})  # fmt: skip
        users.append({**base, "sourcedId": f"pa{n}", "role": "parent", "givenName": "Mom",
                      "familyName": f"F{n}", "identifier": "", "agentSourcedIds": f"st{n}",
                      "grades": "", "email": f"mom{n}@example.org"})  # fmt: skip
        enrollments.append({"sourcedId": f"e{n}", "status": "active", "dateLastModified": "",
                            "classSourcedId": f"k{n % 3}", "schoolSourcedId": "s1",
                            "userSourcedId": f"st{n}", "role": "student", "primary": "",
                            "beginDate": "", "endDate": ""})  # fmt: skip
    write_csv(folder / "users.csv", users)
    write_csv(folder / "classes.csv", [
        {"sourcedId": f"k{n}", "status": "active", "dateLastModified": "", "title": f"Room {n}",
         "classType": "homeroom", "schoolSourcedId": "s1"}
        for n in range(3)
    ])  # fmt: skip
    write_csv(folder / "enrollments.csv", enrollments)
    return folder


def queries(folder, district, apply=True):
    with CaptureQueriesContext(connection) as ctx:
        report = import_oneroster(folder, district=district, apply=apply)
    assert report.ok, report.file_errors
    return len(ctx.captured_queries), report


def test_it_costs_the_same_queries_for_20_and_200_users(district, tmp_path):
    small, report = queries(write_set(tmp_path / "small", 20), district)
    assert report.count(Outcome.CREATED, "student") == 20
    assert report.count(Outcome.CREATED, "guardian link") == 20
    assert report.count(Outcome.UPDATED, "homeroom enrollment") == 20
    large, report = queries(write_set(tmp_path / "large", 200), district)
    assert report.count(Outcome.CREATED, "student") == 180
    assert report.count(Outcome.KEPT, "student") == 20
    assert report.count(Outcome.UPDATED, "homeroom enrollment") == 180
    assert large <= small + 2


def test_it_costs_the_same_queries_on_a_rerun(district, tmp_path):
    small_set, large_set = write_set(tmp_path / "small", 20), write_set(tmp_path / "large", 200)
    queries(large_set, district)
    small, _ = queries(small_set, district, apply=False)
    large, report = queries(large_set, district, apply=False)
    assert report.count(Outcome.KEPT, "student") == 200
    assert large <= small + 2
