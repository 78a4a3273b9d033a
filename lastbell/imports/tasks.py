"""The task worker's side of an import run: read the kept upload, check it or import it.

While it runs, progress goes to a small file beside the upload, at most about once a second
(lastbell/imports/models.py says why not to the row), and every row of the report goes to a
CSV file there, for "Download every row"; the row keeps a bounded sample and the counts.
"""

import csv
import json
import logging
import os
import time
from functools import partial

from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from lastbell.imports import csvfeeds
from lastbell.imports.edfi import import_edfi
from lastbell.imports.models import ImportRun
from lastbell.imports.oneroster import import_oneroster
from lastbell.imports.report import Report, RowResult
from lastbell.ops import workers

logger = logging.getLogger(__name__)

Kind, Mode, Status = ImportRun.Kind, ImportRun.Mode, ImportRun.Status

CRASHED = (
    "Last Bell stopped while reading this file, so nothing was imported. Try again; if it "
    "happens again, send the file to your district's IT team."
)
STOPPED = (
    "The task worker stopped twice while reading this file, so nothing was imported. Try "
    "again; if it stops again, send the file to your district's IT team."
)
UPLOAD_GONE = (
    "The uploaded file is no longer on the server, so nothing was imported. Choose the file "
    "and check it again."
)


@task
def run_import(run_id: int) -> str:
    """Check or import the upload of an ImportRun that is waiting; returns its status."""
    claimed = ImportRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), progress_file=F("file_name")
    )
    if not claimed:  # already taken by another attempt, or deleted
        return "skipped"
    run = ImportRun.objects.select_related("district", "school", "created_by").get(pk=run_id)
    if not run.upload_path.exists():
        _fail(run, UPLOAD_GONE)
        return run.status
    progress = ProgressFile(run.progress_path, run.file_name)
    try:
        with run.rows_path.open("w", encoding="utf-8", newline="") as out:
            report = Report(run.file_name, sink=RowsCsv(out))
            # The run's outcome commits with what the import saved, or not at all.
            with transaction.atomic():
                _importer(run)(run.upload_path, apply=run.mode == Mode.APPLY,
                               actor=run.created_by, report=report, progress=progress)  # fmt: skip
                _finish(run, report, progress)
    except Exception:
        logger.exception("Import run %s (%s) failed", run.pk, run.file_name)
        run.rows_path.unlink(missing_ok=True)
        _fail(run, CRASHED)
        raise
    finally:
        run.progress_path.unlink(missing_ok=True)
    if run.mode == Mode.APPLY and run.status == Status.DONE:
        run.upload_path.unlink(missing_ok=True)  # imported: nothing is left to do with it
    return run.status


def _put_back(run_id: int):
    """Its worker died: the run waits again. Nothing of it was saved (the import and the
    run's outcome commit together, and the dead worker's transaction was rolled back)."""
    run = ImportRun.objects.filter(pk=run_id, status=Status.RUNNING).first()
    if run is None:
        return
    run.progress_path.unlink(missing_ok=True)
    run.rows_path.unlink(missing_ok=True)
    ImportRun.objects.filter(pk=run_id).update(
        status=Status.QUEUED, started_at=None, progress_rows=0, progress_fraction=None
    )


def _give_up(run_id: int):
    run = ImportRun.objects.filter(pk=run_id, status__in=[Status.QUEUED, Status.RUNNING]).first()
    if run is not None:
        run.progress_path.unlink(missing_ok=True)
        run.rows_path.unlink(missing_ok=True)
        _fail(run, STOPPED)


workers.when_lost(run_import, put_back=_put_back, give_up=_give_up)


def _importer(run: ImportRun):
    if run.kind == Kind.ATTENDANCE:
        return partial(csvfeeds.import_attendance, school=run.school, name=run.file_name)
    if run.kind == Kind.BUS:
        return partial(csvfeeds.import_buses, school=run.school, name=run.file_name)
    if run.kind == Kind.EDFI:
        return partial(import_edfi, district=run.district, name=run.file_name)
    return partial(import_oneroster, district=run.district)


def _finish(run: ImportRun, report: Report, progress: "ProgressFile"):
    run.report = report.as_dict()
    run.status = Status.DONE if report.ok else Status.FAILED
    run.error = " ".join(str(e) for e in report.file_errors)
    run.progress_file, run.progress_rows, run.progress_fraction = progress.last
    if report.ok:
        run.progress_fraction = 1.0
    run.finished_at = timezone.now()
    run.save(update_fields=["report", "status", "error", "progress_file", "progress_rows",
                            "progress_fraction", "finished_at"])  # fmt: skip


def _fail(run: ImportRun, why: str):
    run.status, run.error, run.finished_at = Status.FAILED, why, timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(
        status=run.status, error=run.error, finished_at=run.finished_at
    )


class ProgressFile:
    """The importers' `progress(file, rows, fraction)` callback: writes to a file at most once
    every `every` seconds, replacing it whole so a reader never sees half of it."""

    def __init__(self, path, file_name: str, *, every: float = 1.0):
        self.path = path
        self.every = every
        self.last: tuple[str, int, float | None] = (file_name, 0, None)
        self._written_at = float("-inf")

    def __call__(self, file: str, rows: int, fraction: float | None = None):
        if fraction is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
        self.last = (file, rows, fraction)
        now = time.monotonic()
        if now - self._written_at < self.every:
            return
        self._written_at = now
        partial_path = self.path.with_name(self.path.name + ".part")
        try:
            partial_path.write_text(
                json.dumps({"file": file, "rows": rows, "fraction": fraction}), encoding="utf-8"
            )
            os.replace(partial_path, self.path)
        except OSError:
            logger.warning("Could not write the progress of an import to %s", self.path)


class RowsCsv:
    """A report's sink: every row, as the run page's "Download every row" gives it."""

    HEADER = ["File", "Row", "Record", "Id", "Result", "Why"]

    def __init__(self, out):
        out.write("\ufeff")  # so Excel reads UTF-8 names correctly
        self.writer = csv.writer(out)
        self.writer.writerow(self.HEADER)

    def __call__(self, row: RowResult):
        self.writer.writerow([_cell(row.file), row.row, _cell(row.kind), _cell(row.key),
                              str(row.outcome), _cell(row.reason)])  # fmt: skip


def _cell(value) -> str:
    """Spreadsheets run a cell that starts like a formula; a leading quote keeps it text."""
    value = str(value)
    return "'" + value if value and value[0] in "=+-@\t\r|%" else value
