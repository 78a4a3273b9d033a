"""What each request of a dismissal costs the server, alone: `python -m bench.dismissal_costs`.

bench/dismissal_load.py measures the dismissal as a whole, where every request waits for the
others; this says what each kind costs by itself, to know where to cut. It builds the load
benchmark's school (bench/dismissal_school.py) on a throwaway database, then, in this process
through Django's test client (every middleware, no network), plays `--families` families'
steps one after another as the screens do them: the curb's check-in and its page, the live
regions of the whole-school screens, each homeroom's page, region and "Sent", and each
student's release page and release. For each kind it prints the count, the median and mean CPU
time of this thread, and the median number of SQL queries.

    .venv/bin/python -m bench.dismissal_costs [--students 1000] [--families 40]
"""

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lastbell.settings")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dismissal_costs", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--families", type=int, default=40, help="families played (default 40)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--queries", action="store_true",
                        help="print the SQL of the last request of each kind")  # fmt: skip
    args = parser.parse_args(argv)

    from bench.serving import BenchDatabase, machine_line

    database = BenchDatabase("costs")
    try:
        from bench.dismissal_school import DOOR, prepare

        school = prepare(students=args.students, seed=args.seed, lead_minutes=10,
                         phone_share=0.0, devices=3, database_label=database.label)  # fmt: skip
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        def client(cookie: str) -> Client:
            signed_in = Client()
            name, _, value = cookie.partition("=")
            signed_in.cookies[name] = value
            return signed_in

        base = f"/schools/{school.school_id}/dismissal/"
        curb, door, office = (client(cookie) for cookie in school.staff[:3])
        rooms = {c.homeroom_id: client(c.cookie) for c in school.classrooms}
        live = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "live"}
        cpu, queries, last_sql = defaultdict(list), defaultdict(list), {}

        def measure(label, call, *a, **kw):
            with CaptureQueriesContext(connection) as seen:
                started = time.thread_time()
                response = call(*a, **kw)
                cpu[label].append(time.thread_time() - started)
            queries[label].append(len(seen))
            last_sql[label] = [query["sql"] for query in seen.captured_queries]
            if response.status_code not in (200, 302):
                raise SystemExit(f"{label}: {response.status_code}")

        for family in school.families[: args.families]:
            fields = {"method": "tag", "number": family.tag, "door": DOOR, "adult_name": ""}
            measure("check-in (POST)", curb.post, base + "curb/check-in/", fields)
            measure("curb page", curb.get, base + "curb/", {"door": DOOR})
            measure("curb region", curb.get, base + "curb/", {"door": DOOR}, **live)
            measure("overview region", office.get, base, **live)
            measure("groups region", office.get, base + "groups/", **live)
            measure("door list region", door.get, base + "release/", **live)
            for room in {school.homeroom_of[pk] for pk in family.students}:
                teacher = rooms[room]
                mine = [pk for pk in family.students if school.homeroom_of[pk] == room]
                measure("classroom page", teacher.get, base + "classroom/")
                measure("classroom region", teacher.get, base + "classroom/", **live)
                measure("sent (POST, htmx)", teacher.post, base + "classroom/sent/",
                        {"student": mine}, **live)  # fmt: skip
            for pk in family.students:
                measure("release page", door.get, f"{base}release/{pk}/")
                measure("release (POST)", door.post, f"{base}release/{pk}/", {
                    "person": f"guardian:{family.release_to[pk]}", "note": "",
                    "verification": "car_tag"})  # fmt: skip

        out = sys.stdout.write
        out(f"Last Bell: what each dismissal request costs alone\n{machine_line()}\n")
        out(f"Database  {database.label}; {school.students} students, "
            f"{args.families} families played\n\n")  # fmt: skip
        out(f"  {'request':22} {'count':>6} {'CPU p50':>9} {'CPU mean':>9} {'queries':>8}\n")
        for label, times in cpu.items():
            out(f"  {label:22} {len(times):>6} {statistics.median(times) * 1000:>6.1f} ms "
                f"{statistics.mean(times) * 1000:>6.1f} ms "
                f"{statistics.median(queries[label]):>8.0f}\n")  # fmt: skip
        if args.queries:
            for label, sqls in last_sql.items():
                out(f"\n{label}: {len(sqls)} queries\n")
                out("".join(f"  {number:2}. {sql[:150]}\n" for number, sql in enumerate(sqls, 1)))
        return 0
    finally:
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
