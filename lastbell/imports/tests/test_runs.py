"""Import runs: an upload is checked by the task worker, shows its progress and its report, and
"Import this file" imports the same file; every row can be downloaded; only the right staff
see a run.

Most tests run the task with Django's immediate backend, on the commit of the request that
queued it; the ones about queueing use the real database backend and call the task as the
worker would.
"""

import csv
import datetime as dt
import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.imports.models import ImportRun
from lastbell.imports.report import KEEP_ROWS, Outcome, RowResult
from lastbell.imports.tasks import ProgressFile, RowsCsv, run_import
from lastbell.imports.tests.helpers import SAMPLE, SAMPLE_PARENT_SCHOOL
from lastbell.people.models import Guardian

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
Status = ImportRun.Status


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    """Each test keeps its uploads in a folder of its own."""
    settings.DATA_DIR = tmp_path
    return tmp_path / "uploads"


@pytest.fixture
def immediate(settings):
    settings.TASKS = IMMEDIATE


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a request left for its commit (queueing the task), as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def attendance_csv(student):
    return f"student_id,date\n{student.sis_id},2026-11-18\n".encode()


def school_url(school, view="", *args):
    return reverse(f"imports:school{'_' + view if view else ''}", args=[school.pk, *args])


def roster_url(district, view="", *args):
    return reverse(f"imports:roster{'_' + view if view else ''}", args=[district.pk, *args])


def check(client, url, content: bytes, *, commit, name="today.csv", kind="attendance", **headers):
    """Post a file to check, and commit: the task is queued (or, immediately, run)."""
    upload = SimpleUploadedFile(name, content)
    with commit():
        return client.post(url, {"kind": kind, "mode": "check", "upload": upload}, **headers)


def run_page(client, run, **headers) -> str:
    url = (school_url(run.school, "run", run.pk) if run.school_id
           else roster_url(run.district, "run", run.pk))  # fmt: skip
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


# --- check, then import -------------------------------------------------------------------


def test_it_checks_then_imports_the_same_file(
    client, staff, school, attendance_csv, immediate, on_school_day, commit
):
    client.force_login(staff)

    response = check(client, school_url(school), attendance_csv, commit=commit)

    run = ImportRun.objects.get()
    assert response.url == school_url(school, "run", run.pk)
    assert (run.mode, run.status, run.kind, run.file_name) == ("check", "done", "attendance",
                                                               "today.csv")  # fmt: skip
    assert run.created_by == staff and run.started_at and run.finished_at
    page = run_page(client, run)
    assert "Check of today.csv" in page and "1 created" in page
    assert "Import this file" in page and "hx-trigger" not in page  # finished: no polling
    assert not Absence.objects.exists()

    with commit():
        response = client.post(school_url(school, "run_apply", run.pk))

    applied = ImportRun.objects.get(mode="apply")
    assert response.url == school_url(school, "run", applied.pk)
    assert (applied.status, applied.check_run, applied.token) == ("done", run, run.token)
    assert applied.report["applied"] and applied.report["counts"]["absence"]["created"] == 1
    assert Absence.objects.count() == 1
    assert "Imported" in run_page(client, applied)
    # The check now points to its import, and the kept file is gone.
    assert "This file is imported" in run_page(client, run)
    assert not run.upload_path.exists()

    # Pressing the button again (a second tab, a double click) imports nothing twice.
    again = client.post(school_url(school, "run_apply", run.pk))
    assert again.url == school_url(school, "run", applied.pk)
    assert ImportRun.objects.filter(mode="apply").count() == 1
    assert Absence.objects.count() == 1


def test_a_district_admin_checks_then_imports_an_edfi_file(
    client, district_admin, district, student, immediate, commit
):
    client.force_login(district_admin)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<InterchangeContact xmlns="http://ed-fi.org/5.2.0"><Contact>'
        "<ContactUniqueId>C1</ContactUniqueId><Name><FirstName>Maria</FirstName>"
        "<LastSurname>Lopez</LastSurname></Name></Contact>"
        "<StudentContactAssociation><StudentReference><StudentIdentity>"
        f"<StudentUniqueId>{student.sis_id}</StudentUniqueId></StudentIdentity>"
        "</StudentReference><ContactReference><ContactIdentity><ContactUniqueId>C1"
        "</ContactUniqueId></ContactIdentity></ContactReference><Relation>Mother</Relation>"
        "</StudentContactAssociation></InterchangeContact>"
    )
    check(
        client, roster_url(district), xml.encode(), name="contacts.xml", kind="edfi", commit=commit
    )

    run = ImportRun.objects.get()
    assert (run.school, run.kind, run.status) == (None, "edfi", "done")
    page = run_page(client, run)
    assert "Check of contacts.xml" in page and "1 created" in page
    assert not Guardian.objects.filter(source_id="C1").exists()

    with commit():
        client.post(roster_url(district, "run_apply", run.pk))

    guardian = Guardian.objects.get(source_id="C1")
    assert list(guardian.students.all()) == [student]


def test_a_oneroster_zip_records_its_progress(client, district_admin, district, immediate, commit):
    testing.make_school(district, "Central High", code=SAMPLE_PARENT_SCHOOL)
    client.force_login(district_admin)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zipped:
        for path in SAMPLE.iterdir():
            zipped.write(path, path.name)

    check(
        client,
        roster_url(district),
        packed.getvalue(),
        name="roster.zip",
        kind="oneroster",
        commit=commit,
    )

    run = ImportRun.objects.get()
    assert run.status == "done", run.error
    assert run.progress_fraction == 1.0
    assert run.progress_file.endswith(".csv") and run.progress_rows > 0
    assert run.report["version"] == "1.1"
    assert "Check of roster.zip" in run_page(client, run)


# --- the task worker ----------------------------------------------------------------------


def test_a_check_waits_for_the_task_worker_and_the_page_polls(
    client, staff, school, attendance_csv, on_school_day, time_machine, commit
):
    client.force_login(staff)
    check(client, school_url(school), attendance_csv, commit=commit)

    run = ImportRun.objects.get()
    [task] = DBTaskResult.objects.filter(task_path="lastbell.imports.tasks.run_import")
    assert task.args_kwargs == {"args": [run.pk], "kwargs": {}}
    assert run.status == "queued"
    page = run_page(client, run)
    assert "Waiting for its turn" in page
    assert 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "task worker" not in page
    time_machine.shift(dt.timedelta(minutes=2))  # no worker has come by
    assert "the task worker that checks and imports files may not be" in run_page(client, run)

    assert run_import.call(run.pk) == "done"

    # What htmx fetches every second: the status part alone, without polling once finished.
    part = run_page(client, run, HTTP_HX_REQUEST="true")
    assert part.lstrip().startswith('<div id="run-status"')
    assert "hx-trigger" not in part and "1 created" in part
    assert "http-equiv" not in run_page(client, run)
    # A task run twice (a retry) does nothing the second time.
    assert run_import.call(run.pk) == "skipped"


def test_the_page_shows_the_progress_of_a_running_import(
    client, staff, school, attendance_csv, commit
):
    client.force_login(staff)
    check(client, school_url(school), attendance_csv, commit=commit)
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(status=Status.RUNNING)
    run.refresh_from_db()
    progress = ProgressFile(run.progress_path, run.file_name)

    progress("today.csv", 12000, 0.4)
    page = run_page(client, run, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in page
    assert re.search(r'<progress id="run-progress" max="100" value="40">', page)
    assert '<strong data-testid="progress-file">today.csv</strong>' in page
    assert '<span data-testid="progress-rows">12,000</span> rows so far (40%)' in page

    # At most about once a second: the next call soon after is not written.
    progress("today.csv", 13000, 0.5)
    assert "12,000" in run_page(client, run)
    assert progress.last == ("today.csv", 13000, 0.5)


def test_a_run_without_progress_for_ten_minutes_says_the_worker_stopped(
    client, staff, school, attendance_csv, commit, time_machine
):
    client.force_login(staff)
    check(client, school_url(school), attendance_csv, commit=commit)
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(status=Status.RUNNING, started_at=timezone.now())
    run.refresh_from_db()
    ProgressFile(run.progress_path, run.file_name)("today.csv", 10, 0.1)
    assert 'data-testid="stalled"' not in run_page(client, run)
    time_machine.move_to(timezone.now() + dt.timedelta(minutes=11))
    assert "may have stopped. It saved nothing" in run_page(client, run)
    run.progress_path.unlink()
    assert "may have stopped" in run_page(client, run)


def test_progress_is_written_whole_with_a_fraction_from_0_to_1(tmp_path):
    progress = ProgressFile(tmp_path / "p.json", "big.xml", every=0)
    progress("big.xml", 5, None)
    progress("big.xml", 7, 1.5)  # a fraction is kept within 0..1
    assert (tmp_path / "p.json").read_text() == '{"file": "big.xml", "rows": 7, "fraction": 1.0}'
    assert not (tmp_path / "p.json.part").exists()


def test_a_bad_file_fails_the_run_with_the_reason_and_imports_nothing(
    client, staff, school, student, immediate, commit
):
    client.force_login(staff)
    latin1 = f"student_id,date,reason\n{student.sis_id},2026-11-18,Médico\n".encode("latin-1")

    check(client, school_url(school), latin1, commit=commit)

    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert "UTF-8" in run.error
    page = run_page(client, run)
    assert "The check failed" in page and "Nothing can be imported" in page
    assert "UTF-8" in page
    assert "Import this file" not in page and "Download every row" not in page
    # Forcing the import anyway is refused.
    response = client.post(school_url(school, "run_apply", run.pk))
    assert response.url == school_url(school, "run", run.pk)
    assert not ImportRun.objects.filter(mode="apply").exists()
    assert not Absence.objects.exists()


def test_a_run_whose_file_is_gone_fails_in_plain_words(
    client, staff, school, attendance_csv, commit
):
    client.force_login(staff)
    check(client, school_url(school), attendance_csv, commit=commit)
    run = ImportRun.objects.get()
    run.upload_path.unlink()

    assert run_import.call(run.pk) == "failed"

    run.refresh_from_db()
    assert "no longer on the server" in run.error
    assert "no longer on the server" in run_page(client, run)


# --- every row, as a file -----------------------------------------------------------------


def test_every_row_downloads_though_the_page_lists_a_sample(
    client, staff, school, student, immediate, on_school_day, commit
):
    client.force_login(staff)
    unknown = KEEP_ROWS + 200
    lines = ["student_id,date", f"{student.sis_id},2026-11-18"]
    lines += [f"X{n:05d},2026-11-18" for n in range(unknown)]
    check(client, school_url(school), "\n".join(lines).encode(), commit=commit)

    run = ImportRun.objects.get()
    assert run.report["counts"]["absence"] == {"created": 1, "updated": 0, "kept": 0,
                                               "skipped": 0, "rejected": unknown}  # fmt: skip
    assert len(run.report["rows"]) == 1 + KEEP_ROWS  # the row keeps a sample
    page = run_page(client, run)
    assert f"500 of {unknown + 1:,} rows are listed here" in page
    assert "Download every row (CSV)" in page

    response = client.get(school_url(school, "run_rows", run.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="today check rows.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == unknown + 1
    assert list(rows[0]) == RowsCsv.HEADER
    assert {r["Result"] for r in rows} == {"created", "rejected"}
    last = next(r for r in rows if r["Id"] == f"X{unknown - 1:05d} 2026-11-18")
    assert last["Row"] == str(unknown + 2)
    assert last["Result"] == "rejected" and "no student with id" in last["Why"]


def test_a_cell_that_looks_like_a_formula_stays_text():
    out = io.StringIO()
    sink = RowsCsv(out)
    sink(RowResult("a.csv", 2, Outcome.REJECTED, "absence", "=HYPERLINK(1)", "+bad"))
    assert out.getvalue().splitlines()[-1] == "a.csv,2,absence,'=HYPERLINK(1),rejected,'+bad"


# --- the pages ----------------------------------------------------------------------------


def test_htmx_uploads_are_sent_to_the_run_page(client, staff, school, attendance_csv, commit):
    client.force_login(staff)
    response = check(
        client, school_url(school), attendance_csv, HTTP_HX_REQUEST="true", commit=commit
    )
    run = ImportRun.objects.get()
    assert response["HX-Redirect"] == school_url(school, "run", run.pk)


def test_a_post_without_a_file_says_to_choose_one(client, staff, school):
    client.force_login(staff)
    response = client.post(school_url(school), {"kind": "attendance", "mode": "check"},
                           follow=True)  # fmt: skip
    assert "Choose the file to check." in response.content.decode()
    assert not ImportRun.objects.exists()
    assert client.post(school_url(school), {"kind": "oneroster"}).status_code == 404


def test_the_upload_forms_show_their_transfer_progress(client, staff, school):
    client.force_login(staff)
    page = client.get(school_url(school)).content.decode()
    assert page.count('hx-encoding="multipart/form-data"') == 2
    assert page.count("data-upload-status hidden") == 2


def test_recent_runs_are_listed_newest_first_in_pages(
    client, staff, school, other_school, district_admin, district
):
    def add(n, name, school=None, kind="attendance"):
        for i in range(n):
            ImportRun.objects.create(district=district, school=school, kind=kind, mode="check",
                                     file_name=f"{name}-{i}.csv", token=f"t{i}")  # fmt: skip

    add(25, "file", school)
    add(3, "elsewhere", other_school)
    add(1, "roster", kind="oneroster")
    client.force_login(staff)

    first = client.get(school_url(school)).content.decode()
    assert len(re.findall(r'<th scope="row" data-label="File">', first)) == 20
    assert "file-24.csv" in first and "file-4.csv" not in first
    assert "elsewhere" not in first and "roster-0" not in first
    second = client.get(school_url(school) + "?page=2", HTTP_HX_REQUEST="true").content.decode()
    assert '<section class="card" id="runs"' in second and "<h1>" not in second
    assert "file-4.csv" in second and "file-24.csv" not in second

    client.force_login(district_admin)
    roster = client.get(roster_url(district)).content.decode()
    assert "roster-0.csv" in roster and "file-1.csv" not in roster


# --- who may see what ---------------------------------------------------------------------


@pytest.fixture
def school_run(school, staff):
    return ImportRun.objects.create(district=school.district, school=school, kind="attendance",
                                    mode="check", file_name="today.csv", token="tok",
                                    created_by=staff)  # fmt: skip


@pytest.fixture
def roster_run(district, district_admin):
    return ImportRun.objects.create(district=district, kind="oneroster", mode="check",
                                    file_name="roster.zip", token="tok2",
                                    created_by=district_admin)  # fmt: skip


def _school_urls(school, run):
    return [school_url(school), school_url(school, "run", run.pk),
            school_url(school, "run_rows", run.pk)]  # fmt: skip


def test_a_schools_runs_are_for_staff_who_can_edit_it(
    client, school, school_run, staff, district_admin, teacher, other_staff, other_school
):
    for user in (staff, district_admin):
        client.force_login(user)
        assert client.get(school_url(school, "run", school_run.pk)).status_code == 200
    client.force_login(teacher)  # sees the school, may not change it: told so
    for url in _school_urls(school, school_run):
        assert client.get(url).status_code == 403
    assert client.post(school_url(school, "run_apply", school_run.pk)).status_code == 403
    client.force_login(other_staff)
    for url in _school_urls(school, school_run):
        assert client.get(url).status_code == 404
    assert client.post(school_url(school, "run_apply", school_run.pk)).status_code == 404
    # Their own school's address does not reach another school's run either.
    for view in ("run", "run_rows"):
        assert client.get(school_url(other_school, view, school_run.pk)).status_code == 404
    assert client.post(school_url(other_school, "run_apply", school_run.pk)).status_code == 404
    assert not ImportRun.objects.filter(mode="apply").exists()


def test_roster_runs_are_for_district_admins_only(
    client, district, roster_run, school_run, district_admin, staff, school
):
    client.force_login(district_admin)
    assert client.get(roster_url(district, "run", roster_run.pk)).status_code == 200
    # A school's run is not a roster run, and the other way round.
    assert client.get(roster_url(district, "run", school_run.pk)).status_code == 404
    assert client.get(school_url(school, "run", roster_run.pk)).status_code == 404

    other_admin = testing.make_district_admin(testing.make_district("Elsewhere Unified"))
    for user in (staff, other_admin):
        client.force_login(user)
        for url in (
            roster_url(district),
            roster_url(district, "run", roster_run.pk),
            roster_url(district, "run_rows", roster_run.pk),
        ):
            assert client.get(url).status_code == 404
        assert client.post(roster_url(district, "run_apply", roster_run.pk)).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, school, school_run):
    response = client.get(school_url(school, "run", school_run.pk))
    assert response.status_code == 302 and "/accounts/sign-in/" in response.url


def test_every_run_is_audited_when_it_is_started(
    client, staff, school, attendance_csv, immediate, on_school_day, commit
):
    client.force_login(staff)
    check(client, school_url(school), attendance_csv, commit=commit)
    run = ImportRun.objects.get()
    with commit():
        client.post(school_url(school, "run_apply", run.pk))
    applied = ImportRun.objects.get(mode="apply")

    events = AuditEvent.objects.filter(action__startswith="import.").order_by("id")
    assert [(e.action, e.target_id, e.actor, e.school) for e in events] == [
        ("import.check.queued", str(run.pk), staff, school),
        ("import.apply.queued", str(applied.pk), staff, school),
        ("import.attendance", str(school.pk), staff, school),  # the importer's own
    ]
    assert events[0].action_label == "Uploaded a file to check"
    assert events[0].after == {"file": "today.csv", "kind": "Attendance", "run": run.pk}


def test_a_run_that_breaks_fails_in_plain_words_and_keeps_no_rows(
    client, staff, school, attendance_csv, commit
):
    client.force_login(staff)
    check(client, school_url(school), attendance_csv, commit=commit)
    run = ImportRun.objects.get()
    run.upload_path.unlink()
    run.upload_path.mkdir()  # something no importer can read

    with pytest.raises(IsADirectoryError):  # the worker records the traceback
        run_import.call(run.pk)

    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at
    assert run.error.startswith("Last Bell stopped while reading this file")
    assert not run.rows_path.exists() and not run.progress_path.exists()
    assert "Last Bell stopped while reading this file" in run_page(client, run)
