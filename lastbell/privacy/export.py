"""Everything Last Bell holds about one student, for a records request: one ZIP with the
whole record as JSON (`student.json`), each part as a CSV, and the photos and court orders.

SECTIONS names every kind of row that belongs to a student; a test fails when a model that
points at Student is missing from it (tests/test_export.py), so a new one can't be forgotten.
Each part is one query, whatever its size.
"""

import csv
import io
import json
import pathlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.dismissal.models import Arrival, CarTag, CustodyEvent, DismissalDay, TagStudent
from lastbell.messaging.models import Message
from lastbell.people.models import (
    AuthorizedAdult,
    CustodyRestriction,
    Guardian,
    GuardianLink,
    Student,
)
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program
from lastbell.privacy.models import Erasure
from lastbell.truancy.models import Conference, Letter, LetterBatch, Referral


@dataclass(frozen=True)
class Section:
    name: str  # the CSV's name and the JSON's key
    model: type[models.Model]
    # The path from the model to the student, or a function of the student giving the rows.
    path: str | Callable[[Student], models.QuerySet]

    def rows(self, student: Student) -> models.QuerySet:
        if callable(self.path):
            return self.path(student)
        rows = self.model._default_manager.filter(**{self.path: student})
        return rows.distinct() if "__" in self.path else rows


def _audit_events(student: Student):
    return AuditEvent.objects.filter(Q(student=student) | Q(target_type="Student",
                                                            target_id=str(student.pk)))  # fmt: skip


SECTIONS = [
    Section("student", Student, lambda s: Student.objects.filter(pk=s.pk)),
    Section("guardian_links", GuardianLink, "student"),
    Section("guardians", Guardian, "links__student"),
    Section("pickup_adults", AuthorizedAdult, "student"),
    Section("custody_restrictions", CustodyRestriction, "student"),
    Section("long_term_defaults", LongTermDefault, "student"),
    Section("long_term_default_days", DefaultDay, "default__student"),
    Section("plan_changes", PlanChange, "student"),
    Section("program_enrollments", Enrollment, "student"),
    Section("programs", Program, "enrollments__student"),
    Section("attendance", Absence, "student"),
    Section("car_tag_membership", TagStudent, "student"),
    Section("car_tags", CarTag, "members__student"),
    Section("dismissal_days", DismissalDay, "events__student"),
    Section("dismissal_events", CustodyEvent, "student"),
    Section("dismissal_check_ins", Arrival, "custodyevent__student"),
    Section("messages", Message, "student"),
    Section("truancy_letters", Letter, "student"),
    Section("truancy_letter_runs", LetterBatch, "letters__student"),
    Section("truancy_conferences", Conference, "letter__student"),
    Section("truancy_referrals", Referral, "letter__student"),
    Section("audit_events", AuditEvent, _audit_events),
    Section("erasure", Erasure, "student"),
]

EXPORTED_MODELS = {section.model for section in SECTIONS}


def _columns(model) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def _rows(section: Section, student: Student) -> list[dict]:
    columns = _columns(section.model)
    return list(section.rows(student).order_by("pk").values(*columns))


def student_record(student: Student) -> dict[str, list[dict]]:
    """Every part of the student's record, as rows of column → value."""
    return {section.name: _rows(section, student) for section in SECTIONS}


def _safe_cell(value) -> str:
    """Spreadsheets run a cell that starts like a formula; a leading quote keeps it text."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    value = str(value)
    if value and value[0] in "=+-@\t\r|%":
        return "'" + value
    return value


def _csv(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_safe_cell(row[column]) for column in columns])
    return out.getvalue()


def _files(record: dict[str, list[dict]]):
    """(name in the ZIP, stored file) of each photo and court order on file."""
    for folder, section, column, model in (
        ("pickup-adult-photos", "pickup_adults", "photo", AuthorizedAdult),
        ("court-orders", "custody_restrictions", "court_order_file", CustodyRestriction),
    ):
        storage = model._meta.get_field(column).storage
        for row in record[section]:
            if row[column]:
                suffix = pathlib.PurePath(row[column]).suffix
                yield f"files/{folder}/{row['id']}{suffix}", storage, row[column]


def student_export_zip(student: Student) -> bytes:
    """The student's whole record as one ZIP (see the module's docstring)."""
    record = student_record(student)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        document = {
            "exported_at": timezone.now(),
            "student_id": student.pk,
            **record,
        }
        archive.writestr(
            "student.json",
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        )
        for section in SECTIONS:
            archive.writestr(
                f"csv/{section.name}.csv", _csv(_columns(section.model), record[section.name])
            )
        missing = []
        for name, storage, stored in _files(record):
            try:
                with storage.open(stored, "rb") as handle:
                    archive.writestr(name, handle.read())
            except FileNotFoundError:
                missing.append(name)
        if missing:
            archive.writestr(
                "files/MISSING.txt",
                "These files are on record but were not found on the server:\n"
                + "\n".join(missing)
                + "\n",
            )
    return buffer.getvalue()
