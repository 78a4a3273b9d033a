"""`manage.py load_demo`: fill an empty database with the demo district and print the sign-ins."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from lastbell.demo.generator import DemoError, format_sign_ins, load_demo
from lastbell.people.models import Student
from lastbell.schools.models import School


class Command(BaseCommand):
    help = (
        "Load the demo district (three schools, about 1,500 students, their families and "
        "plans) into an empty database, in one transaction, and print the demo sign-ins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Do nothing (and succeed) when the database already has a school.",
        )  # fmt: skip
        parser.add_argument(
            "--students-per-school", type=int, default=500, metavar="N",
            help="About N students per school (default 500).",
        )  # fmt: skip
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument(
            "--today", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
            help="Build the demo around this date instead of today.",
        )  # fmt: skip

    def handle(self, *args, if_empty, students_per_school, seed, today, **options):
        if students_per_school < 1:
            raise CommandError("--students-per-school must be at least 1.")
        if School.objects.exists():
            if if_empty:
                self.stdout.write("The database already has schools; the demo was not loaded.")
                return
            raise CommandError(
                "The database already has schools; the demo loads only into an empty database. "
                "Use --if-empty to skip quietly."
            )
        started = time.perf_counter()
        try:
            sign_ins = load_demo(today=today, seed=seed, students_per_school=students_per_school)
        except DemoError as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - started
        schools = School.objects.count()
        students = Student.objects.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded the demo district: {schools} schools, {students:,} students "
                f"in {seconds:.1f} s."
            )
        )
        self.stdout.write("")
        self.stdout.write(format_sign_ins(sign_ins))
