"""Benchmark of the day board: `python -m bench.day_board [--students 5000] [--runs 30]`.

Builds a throwaway database (a temporary SQLite file, or with DATABASE_URL a temporary
PostgreSQL database on that server, dropped at the end), fills one school of `--students`
students and one of 500 with the demo generator, and measures:

- `day_board(school, date)`: median and p90 time over `--runs` runs, and its query count;
- one plain SQL query that reads the same rows (students active on the date LEFT JOINed with
  their absence, changes, program enrollments and default days for the date), fetched whole;
  the ratio of the two;
- the dashboard page and the CSV export, server side, through Django's test client;
- the query count for 500 and for `--students` students, which must be the same.

See bench/README.md for the figures and how to read them.
"""

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse

TARGET_RATIO = 3.0
TARGET_BOARD_MS = 50.0  # for 5,000 students on SQLite
DEFAULT_DATE = dt.date(2026, 11, 18)  # a Wednesday in the school year


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.day_board",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--students", type=int, default=5000, help="students in the big school (default 5000)"
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each (default 30)")
    parser.add_argument(
        "--other-schools",
        type=int,
        default=0,
        metavar="N",
        help="also build N more schools of --students students in the district, "
        "to see whether the board of one school slows with the district",
    )
    parser.add_argument(
        "--page-runs",
        type=int,
        default=10,
        help="timed runs of the dashboard page and the export (default 10)",
    )
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=DEFAULT_DATE,
        help=f"the board date (default {DEFAULT_DATE}, a school day)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the day board with cProfile and print the top calls",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is missed"
    )
    return parser.parse_args(argv)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A throwaway database, chosen before Django reads its settings.


class ThrowawayDatabase:
    """A temporary data directory, and on PostgreSQL a temporary database on the server, named
    `lastbell_<tag>bench_<pid>` so that benchmarks running side by side keep apart."""

    def __init__(self, tag: str = ""):
        self.data_dir = tempfile.mkdtemp(prefix=f"lastbell-{tag}bench-")
        os.environ["LASTBELL_DATA_DIR"] = self.data_dir
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lastbell.settings")
        self.admin_url = None
        self.name = None
        url = os.environ.get("DATABASE_URL", "")
        if not url:
            self.label = f"SQLite file in {self.data_dir}"
            return
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit(f"The benchmark runs on SQLite or PostgreSQL, not {url.split(':')[0]}")
        import psycopg
        from psycopg import sql

        self.admin_url = url
        self.name = f"lastbell_{tag}bench_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        parts = urllib.parse.urlsplit(url)
        os.environ["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{self.name}"))
        self.label = f"temporary database {self.name}"

    def drop(self):
        if self.name:
            import psycopg
            from psycopg import sql

            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: S110 — Django may not be set up; nothing to close then
                pass
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.name)
                    )
                )
        shutil.rmtree(self.data_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Measuring.


def timed(fn, runs: int, warmup: int = 2) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds (this process) of `runs` calls of `fn`, after a warm-up."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]


def summary(wall: list[float], cpu: list[float]) -> dict:
    return {
        "median": statistics.median(wall), "p90": p90(wall), "min": min(wall),
        "cpu": statistics.median(cpu),
    }  # fmt: skip


def line(result: dict, extra: str) -> str:
    return (
        f"  median {result['median']:7.1f} ms   p90 {result['p90']:7.1f} ms   "
        f"min {result['min']:7.1f} ms   CPU {result['cpu']:6.1f} ms   {extra}\n"
    )


def plain_sql() -> str:
    """One query for the rows the day board reads (parameters: `plain_sql_params`).

    The school's students active on the date, with their homeroom, LEFT JOINed with: the
    absence of the date (and who recorded it); the changes covering the date on that weekday,
    not cancelled (route, pickup guardian, who set it); the enrollments in effect that weekday
    in a program of the school running that day (program, who set it); the default versions in
    effect and their day row for the weekday (route, pickup guardian, who set it). A student
    with several changes or enrollments gets several rows; all are fetched.
    """
    from lastbell.accounts.models import User
    from lastbell.attendance.models import Absence
    from lastbell.people.models import Guardian, Student
    from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program
    from lastbell.schools.models import BusRoute, Homeroom

    t = {
        "student": Student, "homeroom": Homeroom, "absence": Absence, "change": PlanChange,
        "route": BusRoute, "guardian": Guardian, "user": User, "enrollment": Enrollment,
        "program": Program, "default": LongTermDefault, "day": DefaultDay,
    }  # fmt: skip
    t = {key: model._meta.db_table for key, model in t.items()}
    return f"""
        SELECT s.id, s.sis_id, s.first_name, s.preferred_name, s.last_name, s.grade, h.name,
               a.id, a.kind, a.excused, a.departs_at, a.reason, a.source, a.created_at,
               au.first_name, au.last_name, au.email,
               c.id, c.created_at, c.source, c.plan_type, c.bus_route_id, cr.number, cr.name,
               cg.first_name, cg.last_name, c.pickup_name, c.dismiss_at, c.note,
               cu.first_name, cu.last_name, cu.email,
               e.id, e.created_at, e.source, p.id, p.name, p.end_time,
               eu.first_name, eu.last_name, eu.email,
               d.id, d.starts_on, d.created_at, d.source, dd.plan_type, dd.bus_route_id,
               dr.number, dr.name, dg.first_name, dg.last_name, dd.pickup_name, dd.dismiss_at,
               dd.note, du.first_name, du.last_name, du.email
        FROM {t["student"]} s
        LEFT JOIN {t["homeroom"]} h ON h.id = s.homeroom_id
        LEFT JOIN {t["absence"]} a ON a.student_id = s.id AND a.date = %s
        LEFT JOIN {t["user"]} au ON au.id = a.recorded_by_id
        LEFT JOIN {t["change"]} c ON c.student_id = s.id AND c.starts_on <= %s
             AND c.ends_on >= %s AND c.cancelled_at IS NULL AND (c.weekdays & %s) > 0
        LEFT JOIN {t["route"]} cr ON cr.id = c.bus_route_id
        LEFT JOIN {t["guardian"]} cg ON cg.id = c.pickup_guardian_id
        LEFT JOIN {t["user"]} cu ON cu.id = c.set_by_id
        LEFT JOIN {t["enrollment"]} e ON e.student_id = s.id AND e.starts_on <= %s
             AND (e.ends_on IS NULL OR e.ends_on >= %s) AND (e.weekdays & %s) > 0
             AND e.program_id IN (SELECT id FROM {t["program"]} WHERE school_id = %s
                  AND starts_on <= %s AND ends_on >= %s AND (weekdays & %s) > 0)
        LEFT JOIN {t["program"]} p ON p.id = e.program_id
        LEFT JOIN {t["user"]} eu ON eu.id = e.set_by_id
        LEFT JOIN {t["default"]} d ON d.student_id = s.id AND d.starts_on <= %s
             AND (d.ends_on IS NULL OR d.ends_on >= %s) AND d.cancelled_at IS NULL
        LEFT JOIN {t["day"]} dd ON dd.default_id = d.id AND dd.weekday = %s
        LEFT JOIN {t["route"]} dr ON dr.id = dd.bus_route_id
        LEFT JOIN {t["guardian"]} dg ON dg.id = dd.pickup_guardian_id
        LEFT JOIN {t["user"]} du ON du.id = d.set_by_id
        WHERE s.school_id = %s AND s.enrolled_on <= %s
          AND (s.withdrawn_on IS NULL OR s.withdrawn_on >= %s)
        ORDER BY s.last_name, s.first_name, s.id
    """  # noqa: S608 — table names come from the models; every value is a parameter


def plain_sql_params(school, date: dt.date) -> list:
    bit = 1 << date.weekday()
    return [
        date,  # absence
        date, date, bit,  # change
        date, date, bit, school.id, date, date, bit,  # enrollment and program
        date, date, date.weekday(),  # default and its day
        school.id, date, date,  # students
    ]  # fmt: skip


def page_timing(client, name: str, school, date: dt.date, runs: int, before=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse(name, args=[school.id])
    except NoReverseMatch:
        return {"skipped": f"no URL named {name!r} yet"}
    except Exception as error:  # a URLconf that does not import: say so, keep the figures
        return {"skipped": f"the URLconf did not load ({type(error).__name__}: {error})"}
    url += f"?date={date.isoformat()}"

    def get():
        if before:
            before()
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response, body

    response, body = get()
    if response.status_code != 200:
        return {"skipped": f"GET {url} answered {response.status_code}"}
    with CaptureQueriesContext(connection) as queries:
        get()
    count = len(queries)  # now: the next request resets the connection's query log
    return {
        **summary(*timed(get, runs, warmup=1)), "url": url, "queries": count,
        "bytes": len(body),
    }  # fmt: skip


def database_label(connection) -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return f"PostgreSQL {version}"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------


def run(args, database) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from lastbell.accounts.models import Role, StaffMembership
    from lastbell.demo.generator import build_school, create_district
    from lastbell.plans.board import board_cache, day_board

    setup_test_environment()  # the test client's host, and mail kept in memory
    out = sys.stdout.write
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    migrated = time.perf_counter() - started

    date = args.date
    district = create_district(name="Benchmark Unified", slug="bench", seed=args.seed)
    started = time.perf_counter()
    small = build_school(district, students=500, today=date, seed=args.seed, kind="elementary")
    small_s = time.perf_counter() - started
    started = time.perf_counter()
    big = build_school(district, students=args.students, today=date, seed=args.seed + 1,
                       kind="elementary")  # fmt: skip
    big_s = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(args.other_schools):
        build_school(district, students=args.students, today=date, seed=args.seed + 2 + n)
    others_s = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    db = database_label(connection)
    out(f"Last Bell day-board benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
    out(f"Machine   {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}, "
        f"Python {platform.python_version()}, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")  # fmt: skip
    out(f"Database  {db} ({database.label})\n")
    out(f"Data      migrate {migrated:.1f} s; built 500 students in {small_s:.1f} s and "
        f"{args.students:,} in {big_s:.1f} s\n")  # fmt: skip
    if args.other_schools:
        out(f"          and {args.other_schools} more schools of {args.students:,} in "
            f"{others_s:.1f} s: {500 + args.students * (1 + args.other_schools):,} students "
            "in the district\n")  # fmt: skip
    out(f"Date      {date:%a %Y-%m-%d}\n\n")

    results = {}
    for label, school in (("small", small), ("big", big)):

        def resolved(s=school):
            board_cache.clear()  # as after any write to the school: a cold resolution
            return day_board(s, date)

        board = resolved()
        with CaptureQueriesContext(connection) as queries:
            resolved()
        count = len(queries)
        board_sql = [query["sql"] for query in queries.captured_queries[1:]]  # not the stamp
        day_board(school, date)
        with CaptureQueriesContext(connection) as queries:
            day_board(school, date)
        results[label] = {
            **summary(*timed(resolved, args.runs)),
            "rows": board.total, "missing": board.missing_count, "queries": count,
        }  # fmt: skip
        results[label + "_reused"] = {
            **summary(*timed(lambda s=school: day_board(s, date), args.runs)),
            "queries": len(queries),
        }  # fmt: skip

    def board_queries_raw():
        """The board's own queries (as logged, values inlined), fetched without the ORM."""
        with connection.cursor() as cursor:
            for query in board_sql:
                cursor.execute(query)
                cursor.fetchall()

    raw_r = summary(*timed(board_queries_raw, args.runs))

    sql, params = plain_sql(), plain_sql_params(big, date)

    def plain():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    plain_rows = len(plain())
    plain_r = summary(*timed(plain, args.runs))

    staff = StaffMembership.objects.filter(school=big, role=Role.DISMISSAL_STAFF).first().user
    client = Client()
    client.force_login(staff)
    dashboard = page_timing(client, "plans:dashboard", big, date, args.page_runs)
    dashboard_cold = page_timing(client, "plans:dashboard", big, date, args.page_runs,
                                 before=board_cache.clear)  # fmt: skip
    export = page_timing(client, "plans:export", big, date, args.page_runs)

    big_r, small_r = results["big"], results["small"]
    reused_r = results["big_reused"]
    ratio = big_r["median"] / plain_r["median"]
    n = f"{args.students:,}"
    out(f"Day board, {n} students, resolved from scratch (as after any write) ({args.runs} runs)\n")
    out(line(big_r, f"{big_r['queries']} queries   {big_r['rows']:,} rows, "
                    f"{big_r['missing']} missing"))  # fmt: skip
    out(f"Day board, {n} students, reused while the school's stamp is unchanged\n")
    out(line(reused_r, f"{reused_r['queries']} query (the stamp)"))
    out("Plain SQL, one query for the same rows, fetchall\n")
    out(line(plain_r, f"1 query   {plain_rows:,} rows"))
    out(f"  ratio day board / plain SQL: {ratio:.2f} on medians, "
        f"{big_r['min'] / plain_r['min']:.2f} on minimums\n")  # fmt: skip
    out(f"The day board's own {big_r['queries']} queries, run raw through the cursor, fetchall\n")
    out(line(raw_r, "the rest of the day board's time is the ORM and Python"))
    out(f"Day board, 500 students, resolved from scratch ({args.runs} runs)\n")
    out(line(small_r, f"{small_r['queries']} queries   {small_r['rows']:,} rows"))
    pages = (("Dashboard page", dashboard), ("Dashboard page, board resolved", dashboard_cold),
             ("CSV export", export))  # fmt: skip
    for title, page in pages:
        if "skipped" in page:
            out(f"{title}: skipped — {page['skipped']}\n")
            continue
        out(f"{title}, {n} students ({args.page_runs} runs), GET {page['url']}\n")
        out(line(page, f"{page['queries']} queries   {page['bytes']:,} bytes"))

    sqlite = connection.vendor == "sqlite"
    checks = [
        (f"ratio day board / plain SQL ≤ {TARGET_RATIO:g}", ratio <= TARGET_RATIO,
         f"{ratio:.2f}"),
        (f"day board ≤ {TARGET_BOARD_MS:g} ms for {n} students, as staff screens get it "
         "(reused under the stamp)"
         + ("" if sqlite else " (the target is for SQLite; shown for reference)"),
         reused_r["median"] <= TARGET_BOARD_MS,
         f"{reused_r['median']:.1f} ms reused; {big_r['median']:.1f} ms resolved from scratch "
         "after a write"),
        ("query count constant (500 vs " + n + " students)",
         big_r["queries"] == small_r["queries"],
         f"{small_r['queries']} = {big_r['queries']}"
         if big_r["queries"] == small_r["queries"]
         else f"{small_r['queries']} ≠ {big_r['queries']}"),
    ]  # fmt: skip
    out("\nTargets\n")
    failed = False
    for text, ok, value in checks:
        out(f"  [{'PASS' if ok else 'MISS'}] {text}: {value}\n")
        failed |= not ok and (sqlite or "SQLite" not in text)

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            board_cache.clear()
            day_board(big, date)
        profiler.disable()
        out("\ncProfile of 5 day boards, by own time:\n")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 1 if failed and args.check else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    database = ThrowawayDatabase()
    try:
        return run(args, database)
    finally:
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
