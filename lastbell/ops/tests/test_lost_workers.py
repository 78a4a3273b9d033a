"""A task whose worker died running it (killed, out of memory) is found by the next worker:
given back to the queue once, its run put back to waiting, and run to the end with nothing
done twice; lost again, it fails, and its run says how to try again.

The dead worker is a real process that has ended; what it left is what a worker leaves when
it is killed after taking a task (test_worker_killed.py kills real workers on PostgreSQL)."""

import datetime as dt
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.imports.models import ImportRun
from lastbell.imports.services import import_run_check
from lastbell.messaging.models import Message
from lastbell.ops import workers
from lastbell.ops.models import Worker
from lastbell.ops.tests.support import issue_by_email, truant_school
from lastbell.truancy import services
from lastbell.truancy.models import Letter, LetterBatch
from lastbell.truancy.tasks import email_batch

pytestmark = pytest.mark.django_db(transaction=True)  # the real worker ends its connections


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def run_worker():
    """The real worker (ours: it looks for lost tasks when it starts): every ready task."""
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def dead_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return int(process.stdout)


def worker(worker_id, *, pid=None, host=None, seen=dt.timedelta(0)) -> Worker:
    now = timezone.now()
    return Worker.objects.create(worker_id=worker_id, host=host or workers.this_host(),
                                 pid=pid or dead_pid(), started_at=now - seen,
                                 seen_at=now - seen)  # fmt: skip


def taken_by(task_path: str, worker_id: str) -> DBTaskResult:
    """The waiting task, taken by `worker_id` as the worker takes it."""
    result = DBTaskResult.objects.get(task_path=task_path, status="READY")
    result.claim(worker_id)
    return result


LETTERS = "lastbell.truancy.tasks.make_letters"
IMPORT = "lastbell.imports.tasks.run_import"


def test_a_letters_run_whose_worker_died_after_the_emails_ends_complete(
    django_capture_on_commit_callbacks,
):
    school, staff, pupils = truant_school(3)
    with django_capture_on_commit_callbacks(execute=True):
        batch = issue_by_email(school, staff, pupils)
    # The worker took the run, queued the emails, started the PDF, and was killed.
    worker("killed")
    task = taken_by(LETTERS, "killed")
    LetterBatch.objects.filter(pk=batch.pk).update(status=LetterBatch.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=False):  # the mail goes nowhere
        assert email_batch(batch) == 3
    batch_dir(batch).with_suffix(".pdf.part").write_bytes(b"%PDF-1.7 half")

    run_worker()

    batch.refresh_from_db()
    task.refresh_from_db()
    assert (task.status, len(task.worker_ids)) == ("SUCCESSFUL", 2)
    assert batch.status == LetterBatch.Status.DONE and batch.has_pdf()
    assert batch.pdf_pages >= 3 and batch.pdf_path.read_bytes().startswith(b"%PDF")
    assert Letter.objects.count() == 3
    # Emailed once: the re-run saw the emails were queued and went on to the PDF.
    assert Message.objects.filter(kind="truancy_letter").count() == 3
    assert not Worker.objects.filter(worker_id="killed").exists()


def batch_dir(batch):
    from lastbell.truancy.documents import letters_dir

    return letters_dir() / f"run-{batch.pk}.pdf"


def test_a_letters_run_lost_twice_fails_and_offers_to_make_the_pdf_again(
    django_capture_on_commit_callbacks,
):
    school, staff, pupils = truant_school(1)
    with django_capture_on_commit_callbacks(execute=True):
        batch = issue_by_email(school, staff, pupils)
    worker("first")
    taken_by(LETTERS, "first")
    assert workers.recover()  # given back once
    worker("second")
    task = taken_by(LETTERS, "second")
    LetterBatch.objects.filter(pk=batch.pk).update(status=LetterBatch.Status.RUNNING)

    [said] = workers.recover()

    assert "marked failed" in said
    task.refresh_from_db()
    assert task.status == "FAILED"
    assert task.exception_class_path == "lastbell.ops.workers.WorkerLost"
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.FAILED
    assert batch.error.startswith("The task worker stopped twice while making this PDF.")
    assert "Make the PDF again" in batch.error
    # And the office can: the run waits again for a worker.
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_retry(batch=batch, actor=staff)
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.QUEUED
    run_worker()
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.DONE and batch.has_pdf()


def test_an_import_whose_worker_died_is_imported_once(django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lastbell.imports.services import import_run_apply

    school = testing.make_school(testing.make_district())
    staff = testing.make_staff(school)
    pupils = [testing.make_student(school) for _ in range(3)]
    today = school.today()
    content = "student_id,date\n" + "".join(f"{p.sis_id},{today}\n" for p in pupils)
    with django_capture_on_commit_callbacks(execute=True):
        check = import_run_check(upload=SimpleUploadedFile("today.csv", content.encode()),
                                 kind="attendance", district=school.district, school=school,
                                 actor=staff)  # fmt: skip
    run_worker()
    check.refresh_from_db()
    assert check.status == "done"
    with django_capture_on_commit_callbacks(execute=True):
        applied = import_run_apply(check_run=check, actor=staff)
    # The worker took the import, wrote some progress, and was killed mid-transaction:
    # PostgreSQL and SQLite drop what it had not committed.
    worker("killed")
    task = taken_by(IMPORT, "killed")
    ImportRun.objects.filter(pk=applied.pk).update(status="running", started_at=timezone.now())
    applied.progress_path.write_text('{"file": "today.csv", "rows": 2, "fraction": 0.5}')

    run_worker()

    applied.refresh_from_db()
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert applied.status == "done" and applied.report["counts"]["absence"]["created"] == 3
    assert Absence.objects.count() == 3
    assert not applied.progress_path.exists()


def test_an_import_lost_twice_fails_in_words_and_can_be_imported_again(
    django_capture_on_commit_callbacks,
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lastbell.imports.services import import_run_apply

    school = testing.make_school(testing.make_district())
    staff = testing.make_staff(school)
    pupil = testing.make_student(school)
    content = f"student_id,date\n{pupil.sis_id},{school.today()}\n"
    with django_capture_on_commit_callbacks(execute=True):
        check = import_run_check(upload=SimpleUploadedFile("today.csv", content.encode()),
                                 kind="attendance", district=school.district, school=school,
                                 actor=staff)  # fmt: skip
    run_worker()
    with django_capture_on_commit_callbacks(execute=True):
        applied = import_run_apply(check_run=check, actor=staff)
    for name in ("first", "second"):
        worker(name)
        taken_by(IMPORT, name)
        ImportRun.objects.filter(pk=applied.pk).update(status="running")
        workers.recover()

    applied.refresh_from_db()
    assert applied.status == "failed"
    assert applied.error.startswith("The task worker stopped twice while reading this file, "
                                    "so nothing was imported.")  # fmt: skip
    assert not Absence.objects.exists()
    check.refresh_from_db()
    assert check.can_apply()  # "Import this file" is offered again


def test_a_worker_that_is_alive_keeps_its_task(django_capture_on_commit_callbacks):
    school, staff, pupils = truant_school(1)
    with django_capture_on_commit_callbacks(execute=True):
        issue_by_email(school, staff, pupils)
    import os

    worker("busy", pid=os.getpid())
    task = taken_by(LETTERS, "busy")

    assert workers.recover() == []
    task.refresh_from_db()
    assert task.status == "RUNNING"


@pytest.mark.parametrize(("silent", "lost"), [
    (workers.GONE_AFTER - dt.timedelta(seconds=5), False),
    (workers.GONE_AFTER + dt.timedelta(seconds=5), True),
])  # fmt: skip
def test_a_worker_on_another_machine_is_gone_when_it_falls_silent(
    django_capture_on_commit_callbacks, silent, lost
):
    school, staff, pupils = truant_school(1)
    with django_capture_on_commit_callbacks(execute=True):
        issue_by_email(school, staff, pupils)
    worker("far", pid=1, host="another-machine/pid:[1]", seen=silent)
    task = taken_by(LETTERS, "far")

    # A worker that may itself have been cut off (just started, the database was away)
    # does not judge by silence.
    assert workers.recover(trust_silence=False) == []
    workers.recover()

    task.refresh_from_db()
    assert task.status == ("READY" if lost else "RUNNING")


def test_a_worker_notes_it_is_alive_and_leaves_when_it_ends():
    with workers.alive("w-1"):
        me = Worker.objects.get(worker_id="w-1")
        assert (me.host, me.pid) == (workers.this_host(), __import__("os").getpid())
        before = me.seen_at
        workers.beat("w-1")
        me.refresh_from_db()
        assert me.seen_at >= before
    assert not Worker.objects.exists()
