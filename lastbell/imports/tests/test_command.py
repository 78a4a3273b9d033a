import io

import pytest
from django.core.management import CommandError, call_command

from lastbell import testing
from lastbell.imports.tests.helpers import SAMPLE, SAMPLE_PARENT_SCHOOL, copy_sample
from lastbell.people.models import Student


@pytest.fixture
def parent_school(district):
    return testing.make_school(district, "Central High", code=SAMPLE_PARENT_SCHOOL)


def run(*args):
    out = io.StringIO()
    call_command("import_oneroster", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_dry_runs_by_default(parent_school):
    out = run(str(SAMPLE), "--district", parent_school.district.slug)
    assert out.startswith("Dry run (nothing saved): oneroster-1.1-sample (OneRoster 1.1)")
    assert "- student: 3 created" in out
    assert "users.csv row 3: guardian link usr-222-123456 → usr-222-66778899 rejected" in out
    assert Student.objects.count() == 0


def test_it_applies(parent_school):
    out = run(str(SAMPLE), "--district", parent_school.district.slug, "--apply")
    assert out.startswith("Imported: oneroster-1.1-sample")
    assert Student.objects.count() == 3


def test_it_exits_with_1_on_a_file_error(parent_school, tmp_path):
    folder = copy_sample(tmp_path)
    (folder / "orgs.csv").write_bytes(b"sourcedId;name;type\n")
    with pytest.raises(SystemExit) as exit_:
        run(str(folder), "--district", parent_school.district.slug, "--apply")
    assert exit_.value.code == 1


def test_it_needs_a_known_district(db):
    with pytest.raises(CommandError, match="No district with the slug 'nowhere'"):
        run(str(SAMPLE), "--district", "nowhere")


def attendance_file(tmp_path, rows):
    path = tmp_path / "absences.csv"
    path.write_text("student_id,date,kind\n" + "".join(f"{r}\n" for r in rows))
    return str(path)


def test_attendance_for_a_whole_district_finds_students_at_every_school(
    district, school, other_school, tmp_path
):
    here = testing.make_student(school, sis_id="S1")
    there = testing.make_student(other_school, sis_id="S2")
    out = io.StringIO()
    call_command("import_attendance", attendance_file(tmp_path, [
        "S1,2026-11-18,absent", "S2,2026-11-18,absent", "S3,2026-11-18,absent"]),
        "--district", district.slug, "--apply", stdout=out)  # fmt: skip
    assert "- absence: 2 created, 1 rejected" in out.getvalue()
    assert f"S3 2026-11-18 rejected: no student with id S3 at {district.name}" in out.getvalue()
    assert here.absences.count() == there.absences.count() == 1


def test_attendance_refuses_an_id_two_schools_share(district, school, other_school, tmp_path):
    testing.make_student(school, sis_id="S1")
    testing.make_student(other_school, sis_id="S1")
    out = io.StringIO()
    call_command("import_attendance", attendance_file(tmp_path, ["S1,2026-11-18,absent"]),
                 "--district", district.slug, stdout=out)  # fmt: skip
    assert "belongs to students at two schools" in out.getvalue()


def test_all_rows_streams_every_row_before_the_summary(district, school, tmp_path):
    testing.make_student(school, sis_id="S1")
    out = io.StringIO()
    call_command("import_attendance", attendance_file(tmp_path, [
        "S1,2026-11-18,absent", "S1,2026-11-19,absent"]),
        "--district", district.slug, "--all-rows", stdout=out)  # fmt: skip
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["absences.csv row 2: absence S1 2026-11-18 created",
                         "absences.csv row 3: absence S1 2026-11-19 created"]  # fmt: skip
    assert lines[2].startswith("Dry run (nothing saved): absences.csv")


def test_a_bus_feed_needs_its_school(district, tmp_path):
    with pytest.raises(CommandError, match="one school's"):
        call_command("import_buses", attendance_file(tmp_path, []), "--district", district.slug)
