"""`lastbell` on the command line: Django's management commands, with our settings."""

import os
import sys


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lastbell.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "lastbell"
    execute_from_command_line(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
