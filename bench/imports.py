"""Benchmark of the imports: `python -m bench.imports [--users 100000] [--events 1000000]`.

Builds a throwaway database (a temporary SQLite file, or with DATABASE_URL a temporary
PostgreSQL database on that server, dropped at the end; see bench/day_board.py), writes a
OneRoster 1.1 CSV set of `--users` users (half students, half their parents, in 20 schools,
with homerooms) and an attendance CSV file of `--events` absences for those students, then
imports each for real (`--apply`, as `lastbell import_oneroster` and `lastbell
import_attendance` do) in a fresh child process, and prints for each:

- wall time and rows per second;
- the child's peak resident memory (ru_maxrss), Django and the interpreter included;
- the same import again (every row "kept"), which is what a nightly re-run costs.

Targets (issue 4): the 1,000,000-event import under 2 minutes on PostgreSQL, peak memory under
500 MB. `--check` makes a missed target exit with status 1. `--profile` prints each import's
30 costliest functions (cProfile, which slows the run: its times are not the figures).
"""

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

from bench.day_board import ThrowawayDatabase

SCHOOLS = 20
TARGET_EVENTS_SECONDS = 120.0  # for 1,000,000 events on PostgreSQL
TARGET_PEAK_MB = 500.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.imports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=100_000, help="OneRoster users (100000)")
    parser.add_argument("--events", type=int, default=1_000_000, help="absences (1000000)")
    parser.add_argument(
        "--no-rerun", action="store_true", help="skip the second, all-kept run of each import"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is missed"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print each import's costliest functions"
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# The files.


def write_oneroster(folder: str, users: int) -> None:
    """orgs, users (students with their parent as agent), classes (homerooms), enrollments."""
    os.makedirs(folder)
    base = {"status": "active", "dateLastModified": "2026-08-01"}
    with open(os.path.join(folder, "orgs.csv"), "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
                    "parentSourcedId"])  # fmt: skip
        w.writerow(["district", *base.values(), "Bench Unified", "district", "", ""])
        for n in range(SCHOOLS):
            w.writerow([f"sch{n}", *base.values(), f"School {n}", "school", f"CA{n:04}",
                        "district"])  # fmt: skip
    families = users // 2
    with open(os.path.join(folder, "users.csv"), "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds",
                    "role", "username", "userIds", "givenName", "familyName", "middleName",
                    "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
                    "password"])  # fmt: skip
        for n in range(families):
            school = f"sch{n % SCHOOLS}"
            w.writerow([f"st{n}", *base.values(), "true", school, "student", f"kid{n}", "",
                        "Kid", f"Family{n}", "", f"S{n:07}", "", "", "", f"pa{n}",
                        f"{n % 6 + 1:02}", ""])  # fmt: skip
            w.writerow([f"pa{n}", *base.values(), "true", school, "parent", f"parent{n}", "",
                        "Pat", f"Family{n}", "", "", f"parent{n}@example.org",
                        f"+1555{n:07}", "", f"st{n}", "", ""])  # fmt: skip
    with open(os.path.join(folder, "classes.csv"), "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
                    "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds",
                    "subjects", "subjectCodes", "periods"])  # fmt: skip
        for n in range(SCHOOLS * 20):
            w.writerow([f"hr{n}", *base.values(), f"Room {n // SCHOOLS + 1}", "", "", "",
                        "homeroom", "", f"sch{n % SCHOOLS}", "", "", "", ""])  # fmt: skip
    with open(os.path.join(folder, "enrollments.csv"), "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["sourcedId", "status", "dateLastModified", "classSourcedId",
                    "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate",
                    "endDate"])  # fmt: skip
        for n in range(families):
            room = (n // SCHOOLS) % 20 * SCHOOLS + n % SCHOOLS  # a homeroom of the same school
            w.writerow([f"en{n}", *base.values(), f"hr{room}", f"sch{n % SCHOOLS}", f"st{n}",
                        "student", "true", "", ""])  # fmt: skip


def school_days(count: int) -> list[dt.date]:
    days, day = [], dt.date(2026, 8, 17)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def write_attendance(path: str, students: int, events: int) -> None:
    """`events` absences, day by day as an attendance system exports them: on each school day
    a different slice of the students is absent, a tenth of them excused, some leaving early."""
    days = school_days(max(1, -(-events // students)) * 4)
    per_day = -(-events // len(days))
    with open(path, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["student_id", "date", "kind", "excused", "departs_at", "reason", "event_id"])
        written = 0
        for d, day in enumerate(days):
            for k in range(per_day):
                if written == events:
                    return
                n = (d * per_day + k) % students
                early = k % 25 == 0
                w.writerow([f"S{n:07}", day.isoformat(), "early_departure" if early else "absent",
                            "yes" if k % 10 == 0 else "no", "13:15" if early else "",
                            "Dentist" if early else "", f"att-{d}-{n}"])  # fmt: skip
                written += 1


# ---------------------------------------------------------------------------------------------
# The child: one import, timed, with its peak memory.


def child(kind: str, path: str, profile: bool = False) -> None:
    import django

    django.setup()
    from lastbell.imports.csvfeeds import import_attendance
    from lastbell.imports.oneroster import import_oneroster
    from lastbell.schools.models import District

    district = District.objects.get(slug="bench")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    if kind == "oneroster":
        report = import_oneroster(path, district=district, apply=True)
    else:
        report = import_attendance(path, district=district, name="attendance.csv", apply=True)
    seconds = time.perf_counter() - started
    if profile:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    print(json.dumps({
        "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ok": report.ok, "counts": report.counts(), "summary": report.summary(),
    }))  # fmt: skip


def run_child(kind: str, path: str, profile: bool = False) -> dict:
    done = subprocess.run(  # noqa: S603 — this module, fixed arguments
        [sys.executable, "-m", "bench.imports", "--child", kind, path, *(["--profile"] * profile)],
        capture_output=True, text=True, check=False, env=os.environ,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"The {kind} import failed:\n{done.stderr[-3000:]}")
    if profile:
        print(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    db = ThrowawayDatabase()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        from lastbell.schools.models import District

        call_command("migrate", verbosity=0)
        District.objects.create(name="Bench Unified", slug="bench", timezone="America/Los_Angeles")
        vendor = f"{connection.vendor} {connection.Database.sqlite_version}" \
            if connection.vendor == "sqlite" else \
            f"{connection.vendor} {connection.cursor().connection.info.server_version}"  # fmt: skip
        connections.close_all()
        work = tempfile.mkdtemp(prefix="lastbell-bench-files-", dir=db.data_dir)
        roster, attendance = os.path.join(work, "oneroster"), os.path.join(work, "attendance.csv")

        started = time.perf_counter()
        write_oneroster(roster, args.users)
        write_attendance(attendance, args.users // 2, args.events)
        print(f"Database: {db.label} ({vendor})")
        print(f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, "
              f"Python {platform.python_version()}")  # fmt: skip
        print(f"Files written in {time.perf_counter() - started:.1f} s: OneRoster set of "
              f"{args.users:,} users, attendance file of {args.events:,} rows "
              f"({os.path.getsize(attendance) / 1024**2:,.0f} MB)\n")  # fmt: skip

        results = []
        for label, kind, path, rows in [
            (f"OneRoster, {args.users:,} users", "oneroster", roster, args.users),
            (f"Attendance, {args.events:,} events", "attendance", attendance, args.events),
        ]:
            for run in ("first", "again") if not args.no_rerun else ("first",):
                got = run_child(kind, path, args.profile)
                results.append((label, kind, run, rows, got))
                print(f"{label}, {'imported' if run == 'first' else 'imported again'}: "
                      f"{got['seconds']:7.1f} s  {rows / got['seconds']:9,.0f} rows/s  "
                      f"peak {got['peak_mb']:5.0f} MB")  # fmt: skip
                print("   " + got["summary"].replace("\n", "\n   "))
        print(f"\nLoad average while it ran: {os.getloadavg()[0]:.2f}")
        missed = []
        for label, kind, run, rows, got in results:
            if got["peak_mb"] > TARGET_PEAK_MB:
                missed.append(f"{label} ({run}): peak {got['peak_mb']:.0f} MB > {TARGET_PEAK_MB}")
            if (kind == "attendance" and run == "first" and connection.vendor == "postgresql"
                    and rows >= 1_000_000 and got["seconds"] > TARGET_EVENTS_SECONDS):  # fmt: skip
                missed.append(f"{label}: {got['seconds']:.0f} s > {TARGET_EVENTS_SECONDS:.0f} s")
        for line in missed:
            print(f"Target missed: {line}")
        if args.check and missed:
            raise SystemExit(1)
    finally:
        db.drop()


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], profile="--profile" in sys.argv[4:])
    else:
        main()
