"""The task worker killed (kill -9) in the middle of a letters PDF run and of an import: a
new worker finds the task its dead predecessor left RUNNING, gives it back to the queue, and
the run ends complete, with nothing done twice: the emails of a letter run are queued once,
an import's rows are saved once (the dead worker's transaction saved none of them).

Real `lastbell db_worker` processes on the test database (PostgreSQL: an in-memory SQLite
test database cannot be shared with another process); test_lost_workers.py covers the same
recovery on both databases without killing anything."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tasks_db.models import DBTaskResult

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.imports.models import ImportRun
from lastbell.imports.services import import_run_apply, import_run_check
from lastbell.messaging.models import Message
from lastbell.ops.tests.support import issue_by_email, truant_school
from lastbell.ops.tests.test_scale_out import Processes, _test_database_url
from lastbell.truancy.documents import PART_SIZE
from lastbell.truancy.models import Letter, LetterBatch

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
WAIT = 180  # seconds for a run to get somewhere on a busy machine


@pytest.fixture
def procs(tmp_path, settings):
    assert connection.vendor == "postgresql"
    settings.DATA_DIR = data = tmp_path / "data"
    (logs := tmp_path / "logs").mkdir()
    data.mkdir()
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "LASTBELL_DATA_DIR": str(data),
           "LASTBELL_TESTING": "1", "SECRET_KEY": settings.SECRET_KEY,
           "DJANGO_SETTINGS_MODULE": "lastbell.settings", "PYTHONUNBUFFERED": "1",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}  # fmt: skip
    env.pop("REDIS_URL", None)
    processes = Processes(env, logs)
    yield processes
    processes.stop_all()


def start_worker(procs: Processes, name: str):
    return procs.start(name, [str(BIN / "python"), "-m", "lastbell.cli", "db_worker",
                              "--no-startup-delay", "--interval", "0.2", "-v", "1"])  # fmt: skip


def wait_for(what: str, test, procs: Processes):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"{what}: not within {WAIT} s.\n{procs.report()}")


def kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_a_letters_run_killed_mid_pdf_ends_complete_with_each_email_once(procs):
    students = PART_SIZE + 5  # two parts: killed after the first
    school, staff, pupils = truant_school(students)
    batch = issue_by_email(school, staff, pupils)
    first = start_worker(procs, "worker-1")

    def mid_pdf():
        batch.refresh_from_db()
        return batch.status == "running" and 0 < batch.progress_done < students

    wait_for("the PDF started", mid_pdf, procs)
    kill(first)

    batch.refresh_from_db()
    assert batch.status == "running" and not batch.has_pdf()  # left as the worker died
    emails = Message.objects.filter(kind="truancy_letter").count()
    assert emails == students  # queued before the PDF, in their own transaction
    [task] = DBTaskResult.objects.filter(task_path="lastbell.truancy.tasks.make_letters")
    assert task.status == "RUNNING"

    start_worker(procs, "worker-2")

    wait_for("the run ended", lambda: LetterBatch.objects.get(pk=batch.pk).is_finished, procs)
    batch.refresh_from_db()
    assert batch.status == "done", procs.report()
    assert batch.has_pdf() and batch.pdf_pages == students
    assert Letter.objects.count() == students
    assert Message.objects.filter(kind="truancy_letter").count() == students
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL" and len(task.worker_ids) == 2
    assert "given back to the queue" in procs.tail("worker-2", 200)


def test_an_import_killed_mid_apply_saves_nothing_then_imports_once(procs):
    school = testing.make_school(testing.make_district())
    staff = testing.make_staff(school)
    pupils = [testing.make_student(school) for _ in range(100)]
    days = [school.today().fromordinal(school.today().toordinal() - n) for n in range(300)]
    rows = "".join(f"{p.sis_id},{day}\n" for p in pupils for day in days)
    upload = SimpleUploadedFile("year.csv", ("student_id,date\n" + rows).encode())
    check = import_run_check(upload=upload, kind="attendance", district=school.district,
                             school=school, actor=staff)  # fmt: skip
    first = start_worker(procs, "worker-1")
    wait_for("the check ended", lambda: ImportRun.objects.get(pk=check.pk).is_finished, procs)
    check.refresh_from_db()
    assert check.status == "done" and check.can_apply(), check.error

    applied = import_run_apply(check_run=check, actor=staff)

    def mid_apply():
        run = ImportRun.objects.get(pk=applied.pk)
        return run.status == "running" and run.progress_path.exists()

    wait_for("the import started", mid_apply, procs)
    kill(first)

    applied.refresh_from_db()
    assert applied.status == "running"  # left as the worker died
    assert not Absence.objects.exists()  # and none of its rows were saved

    start_worker(procs, "worker-2")

    wait_for("the import ended", lambda: ImportRun.objects.get(pk=applied.pk).is_finished, procs)
    applied.refresh_from_db()
    assert applied.status == "done", (applied.error, procs.report())
    assert applied.report["counts"]["absence"]["created"] == len(rows.splitlines())
    assert Absence.objects.count() == len(rows.splitlines())
    assert "given back to the queue" in procs.tail("worker-2", 200)
