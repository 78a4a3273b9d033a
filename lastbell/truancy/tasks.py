"""The task worker's side of a letter run: the emails to guardians (when the run is sent by
email) and the run's one PDF, with its progress on the run's row for the page to show.

Emails first, in one transaction with their audit event (the outbox sends them after commit),
so a PDF that fails never holds them back; a run is emailed once, however often this runs.
The PDF is written to a temporary file beside its final name and renamed when whole, so a
download never gets half a file.
"""

import logging
import os
import time

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from lastbell.ops import workers
from lastbell.truancy.models import LetterBatch

logger = logging.getLogger(__name__)
Status = LetterBatch.Status

FAILED = (
    "Last Bell could not make the PDF of this run. The letters are issued and recorded; only "
    "the file is missing. Use “Make the PDF again”; if it fails again, ask your district's IT "
    "team to look at the server's log."
)


@task
def make_letters(batch_id: int) -> str:
    """Email (if asked) and make the PDF of a run that is waiting; returns its status."""
    claimed = LetterBatch.objects.filter(pk=batch_id, status=Status.QUEUED).update(
        status=Status.RUNNING, progress_done=0, progress_at=timezone.now()
    )
    if not claimed:  # already taken by another attempt
        return "skipped"
    batch = LetterBatch.objects.select_related("district", "school", "created_by").get(pk=batch_id)
    try:
        if batch.delivery == LetterBatch.Delivery.EMAIL:
            email_batch(batch)
        _write_pdf(batch)
    except Exception:
        logger.exception("The PDF of letter run %s failed", batch.pk)
        LetterBatch.objects.filter(pk=batch.pk).update(
            status=Status.FAILED, error=FAILED, finished_at=timezone.now()
        )
        raise
    return Status.DONE


STOPPED = (
    "The task worker stopped twice while making this PDF. The letters are issued and "
    "recorded; only the file is missing. Use “Make the PDF again”; if it stops again, ask "
    "your district's IT team to look at the server's log and memory."
)


def _put_back(batch_id: int):
    """Its worker died: the run waits again. A re-run emails nobody twice (emailed_at, set in
    the emails' own transaction) and writes the PDF afresh beside its final name."""
    LetterBatch.objects.filter(pk=batch_id, status=Status.RUNNING).update(
        status=Status.QUEUED, progress_done=0, progress_at=timezone.now()
    )


def _give_up(batch_id: int):
    LetterBatch.objects.filter(pk=batch_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.FAILED, error=STOPPED, finished_at=timezone.now()
    )


workers.when_lost(make_letters, put_back=_put_back, give_up=_give_up)


def _write_pdf(batch: LetterBatch):
    from lastbell.truancy.documents import batch_pdf, letters_dir

    name = f"run-{batch.pk}.pdf"
    final = letters_dir() / name
    partial = final.with_name(name + ".part")
    said = {"at": 0.0}

    def progress(done: int, total: int):
        now = time.monotonic()
        if now - said["at"] >= 1.0 or done == total:
            said["at"] = now
            LetterBatch.objects.filter(pk=batch.pk).update(
                progress_done=done, progress_total=total, progress_at=timezone.now()
            )

    with partial.open("wb") as out:
        pages = batch_pdf(batch, out, progress=progress)
    os.replace(partial, final)
    LetterBatch.objects.filter(pk=batch.pk).update(
        status=Status.DONE, pdf_name=name, pdf_pages=pages, finished_at=timezone.now()
    )


def email_batch(batch: LetterBatch) -> int:
    """Queue each letter to each of its guardians with an email, in that guardian's language
    (their own copy, addressed to them); how many. Once per run."""
    from lastbell.audit.models import Via
    from lastbell.audit.services import audit_record
    from lastbell.i18n import language_of
    from lastbell.messaging.models import Channel, Kind
    from lastbell.messaging.services import queue_message
    from lastbell.truancy.documents import (
        Copy,
        Renderer,
        batch_letters,
        email_html,
        email_text,
        letter_date,
    )  # fmt: skip

    renderer = Renderer(batch.district)
    on = letter_date(batch)
    with transaction.atomic():
        if not LetterBatch.objects.filter(pk=batch.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        ):
            return 0
        queued, without = 0, 0
        for letter in batch_letters(batch):
            reachable = [g for g in letter.student.family_ if g.email]
            if not reachable:
                without += 1
            for guardian in reachable:
                language = language_of(guardian)
                subject, body = renderer.render(Copy(letter, language, [guardian]),
                                                details=batch.details, on=on)  # fmt: skip
                queue_message(
                    channel=Channel.EMAIL, to=guardian.email, subject=subject,
                    body=email_text(body, language=language, school=letter.school),
                    html_body=email_html(body, language=language, school=letter.school),
                    language=language, kind=Kind.TRUANCY_LETTER, school=letter.school,
                    student=letter.student, guardian=guardian, created_by=batch.created_by,
                )  # fmt: skip
                queued += 1
        LetterBatch.objects.filter(pk=batch.pk).update(emailed=queued)
        audit_record(
            action="truancy.batch.emailed", actor=batch.created_by, target=batch,
            school=batch.school, district=batch.district, label=str(batch), via=Via.SYSTEM,
            after={"emails": queued, "students without an email": without},
        )  # fmt: skip
    batch.emailed = queued
    return queued
