"""`lastbell serve`: the whole app on one machine — web, live updates and the task worker."""

import logging
import os
import signal
import subprocess
import sys

import uvicorn
from django.core.management import call_command
from django.core.management.base import BaseCommand

from lastbell.demo.generator import demo_signins, format_sign_ins, load_demo
from lastbell.schools.models import School


def _die_with_parent():
    """Linux: the worker gets SIGTERM when `serve` ends, however it ends.

    uvicorn re-raises SIGTERM after its own shutdown, which ends this process before any
    `finally` could stop the worker.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Command(BaseCommand):
    help = "Migrate, load the demo district into an empty database, and serve everything."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the task worker (run it as its own process).",
        )
        parser.add_argument(
            "--no-demo",
            action="store_true",
            help="Do not load the demo district into an empty database.",
        )

    def handle(self, *args, host, port, no_worker, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("schedule_feeds", verbosity=0)
        call_command("dismissal_tick", verbosity=0)
        call_command("retention_purge", verbosity=0)
        signins = []
        if not no_demo and not School.objects.exists():
            self.stdout.write("Loading the demo district (about 1,500 students)…")
            signins = load_demo()
        worker = None
        if not no_worker:
            worker = subprocess.Popen(  # noqa: S603 — our own CLI, fixed arguments
                [sys.executable, "-m", "lastbell.cli", "db_worker", "--no-startup-delay",
                 "-v", "0"],
                preexec_fn=_die_with_parent,  # noqa: PLW1509 — no threads yet at this point
            )  # fmt: skip
        url = f"http://{host if host not in ('0.0.0.0', '::') else 'localhost'}:{port}/"  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"\nLast Bell is running at {url}"))
        signins = signins or demo_signins()
        if signins:
            self.stdout.write("\nDemo sign-ins:\n" + format_sign_ins(signins))
        self.stdout.write("\nPress Ctrl+C to stop.\n")
        # uvicorn's start-up lines stay out of the console (log_level alone no longer does).
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        try:
            uvicorn.run(
                "lastbell.asgi:application",
                host=host,
                port=port,
                lifespan="off",
                log_level="warning",
                # Logs go through settings.LOGGING (LOG_FORMAT); requests are logged there
                # without their query strings, which uvicorn's access log would write.
                log_config=None,
                access_log=False,
                # Open pages hold live streams (lastbell/live) that never end by themselves.
                timeout_graceful_shutdown=3,
            )
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=10)
