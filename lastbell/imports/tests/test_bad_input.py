"""Malformed sets: clear errors, row by row or for a whole file, and nothing half-applied."""

import pytest

from lastbell import testing
from lastbell.imports.oneroster import import_oneroster
from lastbell.imports.tests.helpers import (
    SAMPLE_PARENT_SCHOOL,
    copy_sample,
    read_csv,
    table_counts,
    write_csv,
)
from lastbell.people.models import Student


@pytest.fixture
def folder(tmp_path):
    return copy_sample(tmp_path)


@pytest.fixture
def parent_school(district):
    return testing.make_school(district, "Central High", code=SAMPLE_PARENT_SCHOOL)


def edit_users(folder, change):
    rows = read_csv(folder / "users.csv")
    rows = change(rows) or rows
    write_csv(folder / "users.csv", rows)


def assert_nothing_applied(report, before, file, words):
    assert not report.ok and not report.applied
    assert table_counts() == before
    (error,) = report.file_errors
    assert error.file == file
    assert words in error.message
    assert report.summary().startswith("Nothing was imported")


def test_it_refuses_a_file_that_is_not_utf8(parent_school, folder):
    users = folder / "users.csv"
    users.write_bytes(users.read_bytes().replace(b"Anna", b"Ann\xe9"))  # Latin-1
    before = table_counts()
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert_nothing_applied(report, before, "users.csv", "is not UTF-8 text")
    assert "on line 7" in report.file_errors[0].message


def test_it_takes_a_byte_order_mark(parent_school, folder):
    users = folder / "users.csv"
    users.write_bytes(b"\xef\xbb\xbf" + users.read_bytes())
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert report.ok
    assert Student.objects.count() == 3


def test_it_names_a_semicolon_delimiter(parent_school, folder):
    users = folder / "users.csv"
    users.write_text(users.read_text().replace(",", ";"))
    before = table_counts()
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert_nothing_applied(report, before, "users.csv", "separated by semicolons")
    assert "sourcedId, enabledUser, orgSourcedIds, role" in report.file_errors[0].message


def test_it_names_a_missing_column(parent_school, folder):
    edit_users(folder, lambda rows: [{k: v for k, v in r.items() if k != "givenName"}
                                     for r in rows])  # fmt: skip
    before = table_counts()
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert_nothing_applied(report, before, "users.csv", "is missing the column givenName")


def test_it_refuses_a_file_far_too_large(parent_school, folder):
    before = table_counts()
    report = import_oneroster(
        folder, district=parent_school.district, apply=True, max_file_bytes=1000
    )
    assert_nothing_applied(report, before, "users.csv", "more than the 0 MB Last Bell takes")


def test_it_refuses_a_delta_set(parent_school, folder):
    manifest = folder / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("file.users,bulk", "file.users,delta"))
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert report.file_errors[0].message.startswith("is a delta")


def test_it_refuses_what_is_not_a_set(parent_school, tmp_path):
    path = tmp_path / "roster.pdf"
    path.write_bytes(b"%PDF-1.4")
    report = import_oneroster(path, district=parent_school.district)
    assert "neither a folder nor a zip file" in report.file_errors[0].message


def test_it_refuses_a_set_without_users(parent_school, folder):
    (folder / "users.csv").unlink()
    report = import_oneroster(folder, district=parent_school.district)
    assert (
        str(report.file_errors[0]) == "users.csv: is listed in manifest.csv but is not in the set."
    )


def test_it_rejects_an_impossible_date_and_imports_the_rest(parent_school, folder):
    def change(rows):
        rows[5]["dateLastModified"] = "2023-02-30"

    edit_users(folder, change)
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert report.ok
    (row,) = [r for r in report.rejected() if r.kind == "user"]
    assert (row.row, row.key) == (7, "usr-222-567891")
    assert row.reason == "the date last modified 2023-02-30 is not a real date"
    assert Student.objects.count() == 2


def test_it_rejects_an_impossible_enrollment_date(parent_school, folder):
    path = folder / "enrollments.csv"
    path.write_text(path.read_text().replace("2022-03-15", "2022-13-15", 1))
    report = import_oneroster(folder, district=parent_school.district)
    (row,) = [r for r in report.rejected() if r.kind == "enrollment"]
    assert row.reason == "the begin date 2022-13-15 is not a real date"


def test_it_rejects_a_duplicate_sourced_id(parent_school, folder):
    edit_users(folder, lambda rows: [*rows, {**rows[1], "givenName": "Maria"}])
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    (row,) = [r for r in report.rejected() if r.kind == "user"]
    assert row.row == 8
    assert (
        row.reason == "usr-222-66778899 appears more than once in users.csv; only the first is used"
    )
    assert Student.objects.get(sis_id="mary.jones").first_name == "Mary"


def test_it_rejects_a_duplicate_student_id(parent_school, folder):
    edit_users(folder, lambda rows: [*rows, {**rows[1], "sourcedId": "usr-other"}])
    report = import_oneroster(folder, district=parent_school.district)
    (row,) = [r for r in report.rejected() if r.kind == "student"]
    assert row.reason == "the student id mary.jones is also on row 3"


def test_it_rejects_an_unknown_school(parent_school, folder):
    def change(rows):
        rows[5]["orgSourcedIds"] = "org-nowhere"

    edit_users(folder, change)
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    (row,) = [r for r in report.rejected() if r.kind == "student"]
    assert str(row) == (
        "users.csv row 7: student anna.brown rejected: "
        "no school org-nowhere in orgs.csv or in this district"
    )
    assert Student.objects.count() == 2


def test_it_rejects_a_row_with_too_many_cells(parent_school, folder):
    users = folder / "users.csv"
    users.write_text(users.read_text().replace("Anna,Brown", "Anna,Brown,Jr", 1))
    report = import_oneroster(folder, district=parent_school.district)
    (row,) = [r for r in report.rejected() if r.kind == "user"]
    assert row.reason.startswith("the row has more cells than the file has columns")


def test_it_rejects_a_link_to_an_unknown_user(parent_school, folder):
    def change(rows):
        rows[2]["agentSourcedIds"] = "usr-gone"

    edit_users(folder, change)
    report = import_oneroster(folder, district=parent_school.district)
    assert "no user usr-gone in users.csv" in {r.reason for r in report.rejected()}
