"""Old import files are deleted; their runs and reports stay (imports.services.forget_old_files)."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from lastbell import testing
from lastbell.imports.models import ImportRun, upload_dir
from lastbell.imports.services import forget_old_files

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.LASTBELL_IMPORT_FILES_DAYS = 14


def run_with_files(school, token, *, finished_days_ago, status=ImportRun.Status.DONE):
    finished = None if finished_days_ago is None else NOW - dt.timedelta(days=finished_days_ago)
    run = ImportRun.objects.create(
        district=school.district, school=school, kind=ImportRun.Kind.ATTENDANCE,
        file_name="a.csv", token=token, mode=ImportRun.Mode.CHECK, status=status,
        finished_at=finished, report={"ok": True, "counts": {}},
    )  # fmt: skip
    for path in (run.upload_path, run.rows_path, run.progress_path):
        path.write_text("x")
    return run


def test_files_of_old_runs_go_and_recent_ones_stay():
    school = testing.make_school(testing.make_district())
    old = run_with_files(school, "old", finished_days_ago=15)
    recent = run_with_files(school, "recent", finished_days_ago=3)
    running = run_with_files(school, "running", finished_days_ago=None,
                             status=ImportRun.Status.RUNNING)  # fmt: skip

    gone = forget_old_files(now=NOW)

    assert gone == 3
    assert not old.upload_path.exists() and not old.rows_path.exists()
    assert not old.progress_path.exists()
    for run in (recent, running):
        assert run.upload_path.exists() and run.rows_path.exists()
    old.refresh_from_db()
    assert old.report == {"ok": True, "counts": {}}  # the run and its report stay
    assert not old.can_apply()  # and it says the file is no longer kept


def test_an_old_check_imported_recently_keeps_its_upload_until_the_import_is_old_too():
    school = testing.make_school(testing.make_district())
    check = run_with_files(school, "shared", finished_days_ago=20)
    ImportRun.objects.create(
        district=school.district, school=school, kind=ImportRun.Kind.ATTENDANCE,
        file_name="a.csv", token="shared", mode=ImportRun.Mode.APPLY,
        status=ImportRun.Status.DONE, finished_at=NOW - dt.timedelta(days=1), check_run=check,
    )  # fmt: skip

    forget_old_files(now=NOW)

    assert check.rows_path.exists()


def test_a_file_no_run_names_goes_only_once_it_is_old():
    orphan = upload_dir() / "nobody.csv"
    fresh = upload_dir() / "justnow.csv"
    orphan.write_text("x")
    fresh.write_text("x")
    old = (NOW - dt.timedelta(days=30)).timestamp()
    os.utime(orphan, (old, old))

    forget_old_files(now=timezone.now())

    assert not orphan.exists()
    assert fresh.exists()
