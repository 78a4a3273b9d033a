"""The real OneRoster 1.1 sample set (../shared/data), quirks included."""

import io
import shutil
import zipfile

import pytest

from lastbell import testing
from lastbell.audit.models import AuditEvent, Via
from lastbell.imports.oneroster import import_oneroster
from lastbell.imports.report import Outcome
from lastbell.imports.tests.helpers import SAMPLE, SAMPLE_PARENT_SCHOOL, table_counts
from lastbell.people.models import Guardian, GuardianLink, Student


@pytest.fixture
def parent_school(district):
    return testing.make_school(district, "Central High", code=SAMPLE_PARENT_SCHOOL)


def test_it_finds_the_sample_set():
    assert (SAMPLE / "users.csv").is_file()


def test_it_dry_runs_without_writing(parent_school):
    before = table_counts()
    report = import_oneroster(SAMPLE, district=parent_school.district)
    assert report.ok and not report.applied
    assert report.version == "1.1"
    assert table_counts() == before
    assert report.count(Outcome.CREATED, "student") == 3
    assert report.count(Outcome.CREATED, "guardian") == 1
    assert report.count(Outcome.CREATED, "guardian link") == 1
    # Students whose agents are teachers: the links are rejected, the students are not.
    assert report.count(Outcome.REJECTED, "guardian link") == 3
    assert report.count(Outcome.SKIPPED, "user") == 2  # the two teachers
    assert report.count(Outcome.REJECTED) == 3


def test_it_applies_the_sample_set(parent_school):
    report = import_oneroster(SAMPLE, district=parent_school.district, apply=True)
    assert report.ok and report.applied
    students = {s.sis_id: s for s in Student.objects.all()}
    assert set(students) == {"mary.jones", "mmichel.jones", "anna.brown"}
    mary = students["mary.jones"]
    assert (mary.first_name, mary.last_name, mary.grade) == ("Mary", "Jones", "12")
    assert mary.school == parent_school  # through the History Department's parent
    assert mary.withdrawn_on is None
    thomas = Guardian.objects.get()
    assert (thomas.source_id, thomas.email, thomas.mobile) == (
        "usr-222-1234561",
        "thomas.jones@testemail.com",
        "6039876543",
    )
    assert list(GuardianLink.objects.values_list("guardian__first_name", "student__sis_id")) == [
        ("Thomas", "mary.jones")
    ]
    # The only homeroom class is marked to be deleted: no homeroom, its enrollments ignored.
    assert report.count(Outcome.SKIPPED, "homeroom") == 1
    assert mary.homeroom is None
    event = AuditEvent.objects.get(action="import.oneroster")
    assert event.via == Via.IMPORT
    assert event.after["counts"]["student"]["created"] == 3


def test_it_keeps_everything_on_a_rerun(parent_school):
    import_oneroster(SAMPLE, district=parent_school.district, apply=True)
    before = table_counts()
    again = import_oneroster(SAMPLE, district=parent_school.district, apply=True)
    assert again.count(Outcome.CREATED) == again.count(Outcome.UPDATED) == 0
    assert again.count(Outcome.KEPT, "student") == 3
    assert again.count(Outcome.KEPT, "guardian") == 1
    assert again.count(Outcome.KEPT, "guardian link") == 1
    before["AuditEvent"] += 1  # the run itself is recorded
    assert table_counts() == before


def test_it_updates_what_changed_in_the_sis(parent_school, tmp_path):
    import_oneroster(SAMPLE, district=parent_school.district, apply=True)
    folder = tmp_path / "set"
    shutil.copytree(SAMPLE, folder)
    users = folder / "users.csv"
    users.chmod(0o644)
    text = users.read_text().replace(",Anna,Brown,", ",Annie,Brown,")
    users.write_text(text.replace("anna.brown@myschool.com,6039991234", "x@y.org,6039991234"))
    report = import_oneroster(folder, district=parent_school.district, apply=True)
    assert report.count(Outcome.UPDATED, "student") == 1
    assert Student.objects.get(sis_id="anna.brown").first_name == "Annie"


def test_it_reports_the_department_without_a_school(district):
    report = import_oneroster(SAMPLE, district=district, apply=True)
    assert report.ok
    assert Student.objects.count() == 0
    rejected = [r for r in report.rejected() if r.kind == "student"]
    assert len(rejected) == 3
    assert rejected[0].reason == "org-sch-222-456 is a department whose school is not known"
    assert "row 3: student mary.jones rejected" in report.as_text()


@pytest.mark.parametrize("as_file", [False, True])
def test_it_takes_a_zip(parent_school, tmp_path, as_file):
    path = tmp_path / "roster.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        for file in SAMPLE.iterdir():
            zipped.write(file, f"export/{file.name}")  # zipped with its folder
    source = io.BytesIO(path.read_bytes()) if as_file else path
    report = import_oneroster(source, district=parent_school.district, apply=True)
    assert report.ok, report.file_errors
    assert Student.objects.count() == 3
    assert GuardianLink.objects.count() == 1
