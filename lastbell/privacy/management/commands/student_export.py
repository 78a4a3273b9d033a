"""`lastbell student_export SCHOOL_ID SIS_ID -o FILE.zip`: everything held about one student,
for a records request (the same ZIP as the staff page; see lastbell/privacy/export.py).
Audited as done by the system."""

import pathlib

from django.core.management.base import BaseCommand, CommandError

from lastbell.audit.models import Via
from lastbell.people.models import Student
from lastbell.privacy.export import student_export_zip
from lastbell.privacy.services import student_exported


class Command(BaseCommand):
    help = "Write everything held about one student to a ZIP file (JSON, CSV, photos)."

    def add_arguments(self, parser):
        parser.add_argument("school", type=int, help="The school's id (in its page's address).")
        parser.add_argument("student", help="The student's id in the school (student id).")
        parser.add_argument("-o", "--output", required=True, help="The ZIP file to write.")

    def handle(self, *args, school, student, output, **options):
        found = Student.objects.filter(school_id=school, sis_id=student).select_related("school")
        pupil = found.first()
        if pupil is None:
            raise CommandError(f"No student with id {student} at school {school}.")
        path = pathlib.Path(output)
        data = student_export_zip(pupil)
        try:
            with path.open("xb") as handle:  # never over another file
                handle.write(data)
        except FileExistsError as exc:
            raise CommandError(f"{path} exists already: give a new file name.") from exc
        student_exported(student=pupil, actor=None, via=Via.SYSTEM)
        self.stdout.write(f"Wrote {path} ({len(data):,} bytes).")
