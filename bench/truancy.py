"""Benchmark of the truancy tracker: `python -m bench.truancy [--students 100000]`.

Builds a throwaway database (a temporary SQLite file, or with DATABASE_URL a temporary
PostgreSQL database on that server, dropped at the end; see bench/day_board.py) holding one
district of `--students` students in `--schools` schools with a school year of attendance
(`--events` per student on average, about 3,000,000 for 100,000 students): unexcused and
excused absences, tardies and early departures with minutes around the 30-minute threshold,
a few students far more often than others, and letter 1 already issued to some. Then it
measures `truancy.tracker.due` (lastbell/truancy/tracker.py), dates included:

- the due list of letter 1 and of letter 2 for one school: median and p90 over `--runs`;
- the same for the whole district, over `--district-runs`;
- the SQL queries of each (the count must not depend on the number of students);
- a batch of `--letters` letters (1,000 by default; 0 skips it): issuing them as one run
  (`truancy.services.letters_issue`, the district's due list re-checked inside its
  transaction), then the run's PDF as the task worker makes it (`documents.batch_pdf`): wall
  time, pages, file size and the peak memory of the process that made it (a child forked
  for it, so the data build's memory is not counted: its peak resident set, and how much it
  grew while making the PDF). Each letter's family gets a guardian with a mailing address,
  every third one reading Spanish.

Targets (issue 6): one school ≤ 100 ms, the whole district ≤ 5 s on PostgreSQL. `--check`
makes a missed target exit with status 1. Try it small first: `--students 2000 --letters 50`.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time

from bench.day_board import ThrowawayDatabase, cpu_model, database_label, p90

TARGET_SCHOOL_MS = 100.0  # on PostgreSQL
TARGET_DISTRICT_MS = 5000.0
START, END = dt.date(2026, 8, 17), dt.date(2027, 6, 11)
ON = dt.date(2027, 5, 14)  # late in the year: nearly the whole year counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.truancy", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--students", type=int, default=100_000, help="students (100000)")
    parser.add_argument("--schools", type=int, default=50, help="schools (50)")
    parser.add_argument("--events", type=float, default=30.0,
                        help="attendance rows per student, on average (30)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=30, help="timed runs for one school (30)")
    parser.add_argument("--district-runs", type=int, default=5,
                        help="timed runs for the whole district (5)")  # fmt: skip
    parser.add_argument("--letters", type=int, default=1000,
                        help="letters in the PDF batch (1000; 0: skip it)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a target is missed (PostgreSQL)")  # fmt: skip
    return parser.parse_args(argv)


def school_days() -> list[dt.date]:
    days, day = [], START
    while day <= ON:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def build(args, out) -> tuple:
    """The district, its schools, students, attendance and letters, by multi-row INSERT (COPY
    on PostgreSQL): the model layer would take longer than the benchmark."""
    from django.db import connection, transaction
    from django.utils import timezone

    from lastbell.attendance.models import Absence
    from lastbell.db import insert_rows
    from lastbell.people.models import Student
    from lastbell.schools.models import District, School, SchoolTerm
    from lastbell.truancy.models import Letter

    rng = random.Random(args.seed)
    three = dt.time(15, 0)
    started = time.perf_counter()
    with transaction.atomic():
        district = District.objects.create(name="Benchmark Unified", slug="bench")
        schools = [
            School.objects.create(
                district=district,
                name=f"School {n:02}",
                code=f"{n:04}",
                tracker_enabled=True,
                **{field: three for field in School.DISMISSAL_FIELDS[:5]},
            )  # fmt: skip
            for n in range(args.schools)
        ]
        SchoolTerm.objects.bulk_create(
            SchoolTerm(school=s, name="2026–27", starts_on=START, ends_on=END) for s in schools
        )
        enrolled = dt.date(2026, 8, 1)
        insert_rows(
            Student,
            ["school_id", "sis_id", "first_name", "last_name", "grade", "enrolled_on",
             "preferred_name"],
            ((schools[n % len(schools)].pk, f"S{n:07}", f"Kid{n}", f"Family{n}",
              str(n % 6 + 1), enrolled, "") for n in range(args.students)),
        )  # fmt: skip
        students = list(Student.objects.order_by("pk").values_list("pk", flat=True))
        days = school_days()
        now = timezone.now()
        # Most students miss a few days; a tail misses many (the ones letters are for).
        weights = [rng.choice((0.3, 0.5, 0.7, 1.0, 1.0, 1.2, 2.0, 3.0)) for _ in students]
        scale = args.events / (sum(weights) / len(weights))

        def rows():
            for pk, weight in zip(students, weights, strict=True):
                count = min(len(days), int(rng.expovariate(1 / (weight * scale)) + 0.5))
                for day in rng.sample(days, count):
                    roll = rng.random()
                    if roll < 0.4:
                        kind, minutes, departs = "absent", None, None
                    elif roll < 0.9:
                        minutes = rng.choice((3, 5, 10, 10, 15, 20, 30, 31, 45, 90))
                        kind, departs = "tardy", None
                    else:
                        minutes = rng.choice((15, 30, 45, 60, 90))
                        kind = "early_departure"
                        bell = dt.datetime(2000, 1, 1, 15)
                        departs = (bell - dt.timedelta(minutes=minutes)).time()
                    excused = rng.random() < (0.5 if weight > 1.5 else 0.8)
                    yield (pk, day, kind, excused, departs, minutes, "", "", "", "import", now)

        insert_rows(
            Absence,
            ["student_id", "date", "kind", "excused", "departs_at", "minutes", "reason",
             "external_id", "source_detail", "source", "created_at"],
            rows(),
        )  # fmt: skip
        issued = dt.datetime(2026, 11, 2, 17, tzinfo=dt.UTC)
        school_of = dict(Student.objects.values_list("pk", "school_id"))
        insert_rows(
            Letter,
            ["student_id", "school_id", "level", "level_name", "year_starts_on", "count",
             "dates", "void_reason", "issued_at"],
            ((pk, school_of[pk], 1, "Letter 1", dt.date(2026, 7, 1), 3, [], "", issued)
             for pk in students if rng.random() < 0.1),
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    events = Absence.objects.count()
    out(f"Data      {args.students:,} students in {args.schools} schools, {events:,} "
        f"attendance rows, {Letter.objects.count():,} letters; built in "
        f"{time.perf_counter() - started:.1f} s\n")  # fmt: skip
    return district, schools


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(args, database) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lastbell.truancy import tracker

    out = sys.stdout.write
    call_command("migrate", verbosity=0, interactive=False)
    out(f"Last Bell truancy-tracker benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
    out(f"Machine   {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}, "
        f"Python {platform.python_version()}, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")  # fmt: skip
    out(f"Database  {database_label(connection)} ({database.label})\n")
    district, schools = build(args, out)
    school = schools[0]
    missed = []
    for label, where, runs, target in (
        (f"One school ({school.name})", school, args.runs, TARGET_SCHOOL_MS),
        ("Whole district", None, args.district_runs, TARGET_DISTRICT_MS),
    ):
        for level in (1, 2):

            def due(where=where, level=level):
                return tracker.due(district=district, school=where, level=level, on=ON)

            times = timed(due, runs)
            with CaptureQueriesContext(connection) as queries:
                rows = due()
            median = statistics.median(times)
            out(f"{label}, letter {level}: {len(rows):,} due\n"
                f"  median {median:8.1f} ms   p90 {p90(times):8.1f} ms   "
                f"min {min(times):8.1f} ms   {len(queries)} queries   ({runs} runs)\n")  # fmt: skip
            if connection.vendor == "postgresql" and median > target:
                missed.append(f"{label}, letter {level}: {median:.0f} ms > {target:.0f} ms")
    if args.letters:
        letters_batch(args, district, out)
    if connection.vendor == "postgresql":
        out("Targets   " + ("; ".join(missed) if missed else "met") + "\n")
    return 1 if args.check and missed else 0


def _families(student_ids: list[int], district) -> None:
    """A guardian with a mailing address for each student; every third reads Spanish."""
    from django.db import transaction

    from lastbell.db import insert_rows
    from lastbell.people.models import Guardian, GuardianLink

    with transaction.atomic():
        ids = insert_rows(
            Guardian,
            ["district_id", "first_name", "last_name", "email", "mobile", "mailing_address",
             "language", "source_id"],
            ((district.pk, "Parent", f"Family{n}", "", "",
              f"{100 + n % 900} Oak Street\nRiverside, CA 925{n % 100:02}",
              "es" if n % 3 == 0 else "en", f"G{pk}") for n, pk in enumerate(student_ids)),
            returning=True,
        )  # fmt: skip
        insert_rows(
            GuardianLink,
            ["guardian_id", "student_id", "relationship"],
            ((g, s, "Parent") for g, s in zip(ids, student_ids, strict=True)),
        )


def letters_batch(args, district, out) -> None:
    """Issue `args.letters` letters 1 as one run, then make its PDF in a forked child."""
    from django.db import connections

    from lastbell.truancy import services, tracker
    from lastbell.truancy.models import LetterBatch

    due = tracker.due(district=district, level=1, on=ON, with_dates=False)
    chosen = [row.student_id for row in due[: args.letters]]
    if len(chosen) < args.letters:
        out(f"Letters   only {len(chosen):,} students are due for letter 1; the batch has them\n")
    _families(chosen, district)
    started = time.perf_counter()
    outcome = services.letters_issue(district=district, level=1, student_ids=chosen,
                                     actor=None, on=ON)  # fmt: skip
    issued_ms = (time.perf_counter() - started) * 1000
    batch = LetterBatch.objects.select_related("district").get(pk=outcome.batch.pk)
    out(f"Issue     {outcome.issued:,} letters as one run: {issued_ms:,.0f} ms "
        "(the district's due list again, the letters, their audit events)\n")  # fmt: skip
    connections.close_all()  # the child opens its own
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover — the child
        os.close(reader)
        try:
            report = _pdf_in_child(batch)
        except BaseException as error:  # reported by the parent
            report = {"error": repr(error)}
        os.write(writer, json.dumps(report).encode())
        os._exit(0)
    os.close(writer)
    chunks = []
    while chunk := os.read(reader, 65536):
        chunks.append(chunk)
    os.waitpid(child, 0)
    report = json.loads(b"".join(chunks) or b'{"error": "the child said nothing"}')
    if "error" in report:
        out(f"PDF       failed: {report['error']}\n")
        return
    per = report["seconds"] * 1000 / max(report["letters"], 1)
    out(f"PDF       {report['letters']:,} letters, {report['pages']:,} pages, "
        f"{report['bytes'] / 1024**2:.1f} MB in {report['seconds']:.1f} s ({per:.0f} ms a "
        f"letter); peak memory {report['peak_mb']:.0f} MB (grew {report['grew_mb']:.0f} MB "
        "while making it)\n")  # fmt: skip


def _pdf_in_child(batch) -> dict:
    from lastbell.truancy import documents

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    before = rss_mb()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        pages = documents.batch_pdf(batch, out)
        size = out.tell()
    return {"letters": batch.issued, "pages": pages, "bytes": size,
            "seconds": time.perf_counter() - started, "peak_mb": rss_mb(),
            "grew_mb": rss_mb() - before}  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    database = ThrowawayDatabase("truancy")
    try:
        return run(args, database)
    finally:
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
