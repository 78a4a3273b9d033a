"""An uploaded file, checked or imported by the task worker: what, by whom, how far, and how it
went.

The upload is kept under DATA_DIR/uploads by a random token, so "Import this file" applies
exactly the file that was checked. Next to it each run keeps the full row-by-row report as
CSV (`<token>.<run>.rows.csv`; the report stored on the row is a bounded sample) and, while it
runs, its progress (`<token>.<run>.progress.json`).

Why progress is a file and not the row: an importer applies in one transaction, and on SQLite
that transaction holds the database's only write lock until it ends, so an UPDATE of the run
from any connection would wait for the whole import. A small file written by the worker and
read by the page needs no lock on either database, and needs nothing the import does not
already need: the web process and the worker share the uploads folder to pass the file itself.
The row takes the last progress when the run ends.
"""

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


def upload_dir() -> Path:
    path = settings.DATA_DIR / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def valid_token(token: str) -> bool:
    return bool(token) and token.replace("-", "").replace("_", "").isalnum()


# The worker writes progress every second while it reads; silence this long means it stopped.
STALLED_AFTER = dt.timedelta(minutes=10)


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        ATTENDANCE = "attendance", "Attendance"
        BUS = "bus", "Bus assignments"
        ONEROSTER = "oneroster", "OneRoster"
        EDFI = "edfi", "Ed-Fi"

    class Mode(models.TextChoices):
        CHECK = "check", "Check"
        APPLY = "apply", "Import"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    SCHOOL_KINDS = (Kind.ATTENDANCE, Kind.BUS)
    ROSTER_KINDS = (Kind.ONEROSTER, Kind.EDFI)
    SUFFIX = {Kind.ATTENDANCE: ".csv", Kind.BUS: ".csv", Kind.ONEROSTER: ".zip", Kind.EDFI: ".xml"}

    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    # Empty for a roster import: it is district-wide.
    school = models.ForeignKey(
        "schools.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    file_name = models.CharField(max_length=200)
    token = models.CharField(max_length=40)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress_file = models.CharField(max_length=200, blank=True)
    progress_rows = models.PositiveBigIntegerField(default=0)
    progress_fraction = models.FloatField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)  # Report.as_dict()
    error = models.TextField(blank=True)  # why a run failed, in plain words
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # An import points at the check it was started from.
    check_run = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="apply_runs"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["district", "school", "-created_at"])]

    def __str__(self):
        return f"{self.get_mode_display()} of {self.file_name}"

    # files -----------------------------------------------------------------------------------

    @property
    def upload_path(self) -> Path:
        return upload_dir() / f"{self.token}{self.SUFFIX[self.kind]}"

    @property
    def rows_path(self) -> Path:
        return upload_dir() / f"{self.token}.{self.pk}.rows.csv"

    @property
    def progress_path(self) -> Path:
        return upload_dir() / f"{self.token}.{self.pk}.progress.json"

    # state -----------------------------------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def is_check(self) -> bool:
        return self.mode == self.Mode.CHECK

    def status_label(self) -> str:
        """The status as the list of runs says it."""
        if self.status == self.Status.RUNNING:
            return "Checking…" if self.is_check else "Importing…"
        if self.status == self.Status.DONE:
            return "Checked" if self.is_check else "Imported"
        return self.get_status_display()

    def progress(self) -> dict:
        """{file, rows, fraction}: while running, what the worker last wrote; else the row's."""
        if self.status == self.Status.RUNNING:
            try:
                written = json.loads(self.progress_path.read_text(encoding="utf-8"))
                return {"file": str(written["file"]), "rows": int(written["rows"]),
                        "fraction": written["fraction"]}  # fmt: skip
            except (OSError, ValueError, KeyError, TypeError):
                pass  # not written yet
        return {"file": self.progress_file, "rows": self.progress_rows,
                "fraction": self.progress_fraction}  # fmt: skip

    @property
    def stalled(self) -> bool:
        """Running, yet no progress for STALLED_AFTER: the worker probably stopped. An import
        applies in one transaction, so a stopped one saved nothing."""
        if self.status != self.Status.RUNNING:
            return False
        try:
            moved = dt.datetime.fromtimestamp(self.progress_path.stat().st_mtime, tz=dt.UTC)
        except OSError:
            moved = self.started_at or self.created_at
        return timezone.now() - moved > STALLED_AFTER

    def applied_by(self) -> "ImportRun | None":
        """The import started from this check that has not failed, if any."""
        return self.apply_runs.exclude(status=self.Status.FAILED).order_by("-created_at").first()

    def can_apply(self) -> bool:
        """A check that read the whole file, not yet imported, with the file still kept."""
        return (
            self.is_check
            and self.status == self.Status.DONE
            and bool(self.report and self.report.get("ok"))
            and self.applied_by() is None
            and self.upload_path.exists()
        )

    def row_total(self) -> int:
        counts = (self.report or {}).get("counts", {})
        return sum(n for outcomes in counts.values() for n in outcomes.values())
