"""Starting import runs: a check of an uploaded file, then the import of the checked file.

Each run is audited in the transaction that creates it and handed to the task worker once
that transaction commits (lastbell/imports/tasks.py does the work).
"""

import datetime as dt
import secrets
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lastbell.audit.services import audit_record
from lastbell.imports.models import ImportRun, upload_dir
from lastbell.imports.tasks import run_import


def keep_upload(upload, suffix: str) -> str:
    """Save an uploaded file under a random token; returns the token."""
    token = secrets.token_urlsafe(16)
    with open(upload_dir() / f"{token}{suffix}", "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def import_run_check(*, upload, kind: str, district, school=None, actor) -> ImportRun:
    """Keep the upload and queue a dry run of it with a row-by-row report."""
    forget_old_files()
    token = keep_upload(upload, ImportRun.SUFFIX[kind])
    with transaction.atomic():
        run = ImportRun.objects.create(
            district=district, school=school, kind=kind, file_name=upload.name[:200],
            token=token, mode=ImportRun.Mode.CHECK, created_by=actor,
        )  # fmt: skip
        _audit(run, "import.check.queued", actor)
        transaction.on_commit(partial(run_import.enqueue, run.pk))
    return run


class CannotApply(Exception):
    pass


def import_run_apply(*, check_run: ImportRun, actor) -> ImportRun:
    """Queue the import of the file a check read; refused once it was imported or is gone."""
    with transaction.atomic():
        check = ImportRun.objects.select_for_update(no_key=True).get(pk=check_run.pk)
        if (earlier := check.applied_by()) is not None:
            raise CannotApply(earlier)
        if not check.can_apply():
            raise CannotApply(None)
        run = ImportRun.objects.create(
            district_id=check.district_id, school_id=check.school_id, kind=check.kind,
            file_name=check.file_name, token=check.token, mode=ImportRun.Mode.APPLY,
            created_by=actor, check_run=check,
        )  # fmt: skip
        _audit(run, "import.apply.queued", actor)
        transaction.on_commit(partial(run_import.enqueue, run.pk))
    return run


def _audit(run: ImportRun, action: str, actor):
    audit_record(
        action=action, actor=actor, target=run, school=run.school, district=run.district,
        after={"file": run.file_name, "kind": run.get_kind_display(), "run": run.pk},
        label=f"{run.get_kind_display()} file {run.file_name}"[:300],
    )  # fmt: skip


def forget_old_files(*, now: dt.datetime | None = None) -> int:
    """Delete the files of runs finished more than LASTBELL_IMPORT_FILES_DAYS ago: the upload
    (a check that old is not imported any more), the every-row CSV and the progress file. The
    runs and their reports stay. Files no run names (an upload whose run was never saved) go
    after the same time. Runs at every new upload; returns how many files went."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.LASTBELL_IMPORT_FILES_DAYS)
    recent = ImportRun.objects.exclude(finished_at__lt=cutoff)  # unfinished ones included
    in_use = set(recent.values_list("token", flat=True))
    known = set(ImportRun.objects.values_list("token", flat=True))
    gone = 0
    for path in upload_dir().iterdir():
        token = path.name.split(".", 1)[0]
        if token in in_use:
            continue
        if token not in known and path.stat().st_mtime > cutoff.timestamp():
            continue  # an upload whose run is being saved right now
        path.unlink(missing_ok=True)
        gone += 1
    return gone
