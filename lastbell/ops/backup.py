"""Back up and restore a whole installation: the database, the files the app keeps (uploads
in MEDIA_ROOT: adults' photos, court orders; truancy letter PDFs; import files waiting to be
applied) and a manifest, in one .tar.gz file.

- SQLite: a consistent copy through SQLite's online backup API, made in one step, which in
  WAL mode is a read that never blocks the running server's writers.
- PostgreSQL: `pg_dump --format=custom` (a consistent snapshot while the server runs),
  restored with `pg_restore` piped into `psql --single-transaction` after dropping the
  current tables in the same transaction: a restore that fails changes nothing.

A restore checks everything it can before it touches anything: the file is a Last Bell backup
of the configured kind of database, made by this version or an older one, and the database
holds no data unless --force. Migrations newer than the backup's are applied afterwards.
"""

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

FORMAT = 1  # of the archive's layout and manifest
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


def file_folders() -> dict[str, Path]:
    """Where the app keeps files, by their folder's name in the archive. Database rows point
    to them (AuthorizedAdult.photo, LetterRun.pdf_name, ImportRun's upload)."""
    return {
        "media": Path(settings.MEDIA_ROOT),
        "letters": Path(settings.DATA_DIR) / "letters",
        "uploads": Path(settings.DATA_DIR) / "uploads",
    }


Say = Callable[[str], None]


class BackupError(Exception):
    """Something an operator can fix, said in words."""


def database_kind() -> str:
    if connection.vendor not in DATABASE_FILES:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {connection.vendor}.")
    return connection.vendor


def plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def applied_migrations() -> dict[str, str]:
    """The latest applied migration of each app, by the migration graph's order."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    latest: dict[str, tuple[int, str]] = {}
    for app, name in loader.applied_migrations:
        if (app, name) not in loader.graph.nodes:
            continue  # a row left by a migration since removed from the code
        depth = len(loader.graph.forwards_plan((app, name)))
        if app not in latest or depth > latest[app][0]:
            latest[app] = (depth, name)
    return {app: name for app, (_, name) in sorted(latest.items())}


def _files() -> list[tuple[Path, str]]:
    """Every kept file, with its name in the archive."""
    found = []
    for name, root in file_folders().items():
        if root.is_dir():
            found += [
                (p, f"{name}/{p.relative_to(root).as_posix()}")
                for p in sorted(root.rglob("*"))
                if p.is_file() and not p.is_symlink()
            ]
    return found


def _pg_env() -> dict[str, str]:
    """libpq's environment for the configured database: no password on a command line."""
    db = connection.settings_dict
    env = {**os.environ}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                      ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):  # fmt: skip
        if db.get(key):
            env[name] = str(db[key])
    return env


def _run(argv: list[str], what: str) -> None:
    try:
        result = subprocess.run(argv, env=_pg_env(), capture_output=True, text=True)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError(
            f"{argv[0]} is not installed. Install PostgreSQL's client programs "
            f"(version 15 or newer; on Debian: apt-get install postgresql-client)."
        ) from exc
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")


# --- backup ---------------------------------------------------------------------------------


def default_name(now: dt.datetime | None = None) -> str:
    now = timezone.localtime(now or timezone.now())
    return f"lastbell-{now:%Y-%m-%d-%H%M%S}.tar.gz"


def backup_create(*, path: Path, say: Say = lambda _: None) -> Path:
    """Write a backup to `path` (a folder gets a dated file in it); the file written."""
    path = Path(path)
    if path.is_dir():
        path = path / default_name()
    if path.exists():
        raise BackupError(f"{path} already exists. Choose another name, or move that file away.")
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist.")
    kind = database_kind()
    migrations = applied_migrations()
    if not migrations:
        raise BackupError("The database has no tables yet: there is nothing to back up.")
    files = _files()
    file_bytes = sum(f.stat().st_size for f, _ in files)

    partial = path.with_name(path.name + ".partial")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".lastbell-backup-") as work:
        database = Path(work) / DATABASE_FILES[kind]
        say(f"Copying the {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} database…")
        if kind == "sqlite":
            _sqlite_copy(database)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={database}"], "pg_dump")  # fmt: skip
        say(f"  database: {size(database.stat().st_size)}")
        manifest = {
            "format": FORMAT,
            "app": "lastbell",
            "version": importlib.metadata.version("lastbell"),
            "created_at": timezone.now().isoformat(timespec="seconds"),
            "database": kind,
            "migrations": migrations,
            "files": len(files),
            "file_bytes": file_bytes,  # before compression, as found
        }
        say(
            f"Adding {plural(len(files), 'file', 'files')} ({size(file_bytes)}): uploads, "
            "letters and imports…"
        )
        try:
            # Readable by its owner only from the start: it holds every family's data.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
                tar.add(database, arcname=database.name)
                for file, arcname in files:
                    try:
                        tar.add(file, arcname=arcname)
                    except FileNotFoundError:
                        # Deleted meanwhile (old import files are, at each new upload).
                        manifest["files"] -= 1
                # Last, with what is really in the file (a restore unpacks it all first).
                (Path(work) / MANIFEST).write_text(json.dumps(manifest, indent=2))
                tar.add(Path(work) / MANIFEST, arcname=MANIFEST)
            partial.rename(path)
        finally:
            partial.unlink(missing_ok=True)
    say(f"Backup written to {path} ({size(path.stat().st_size)}).")
    return path


def _sqlite_copy(target: Path) -> None:
    connection.ensure_connection()
    sqlite_copy(connection.connection, target)


def sqlite_copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy the database of `source` into a new file. One step (pages=-1) is one read
    transaction: a copy of one moment, which in WAL mode lets writers go on meanwhile.
    Stepping would restart whenever the server wrote, and might never end on a busy day."""
    dst = sqlite3.connect(target)
    try:
        source.backup(dst, pages=-1)
    finally:
        dst.close()


# --- restore --------------------------------------------------------------------------------


@dataclass
class Backup:
    manifest: dict
    folder: Path  # where the archive was unpacked

    @property
    def database(self) -> Path:
        return self.folder / DATABASE_FILES[self.manifest["database"]]


def backup_open(path: Path, folder: Path, kind: str) -> Backup:
    """Unpack the backup at `path` into `folder` and check it is one this code can restore
    into a `kind` database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"There is no file at {path}.")
    try:
        with tarfile.open(path, "r:*") as tar:
            # "data": no absolute paths, no links outside, no devices (Python's safe filter).
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{path} is not a Last Bell backup, or it is damaged ({exc}).") from exc
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} is not a Last Bell backup: it has no manifest.") from exc
    if manifest.get("app") != "lastbell" or manifest.get("database") not in DATABASE_FILES:
        raise BackupError(f"{path} is not a Last Bell backup.")
    if manifest.get("format", 0) > FORMAT:
        raise BackupError(
            f"This backup was written by a newer Last Bell ({manifest.get('version')}). "
            f"Install that version or a newer one to restore it."
        )
    if manifest["database"] != kind:
        raise BackupError(
            f"This is a backup of a {_kind_name(manifest['database'])} database, and Last Bell "
            f"is set up for {_kind_name(kind)}. Restore it where DATABASE_URL is "
            f"{'set to a PostgreSQL database' if kind == 'sqlite' else 'not set'}."
        )
    backup = Backup(manifest=manifest, folder=folder)
    if not backup.database.is_file():
        raise BackupError(f"{path} is damaged: its database file is missing.")
    return backup


def newer_migrations(backup: Backup) -> list[str]:
    """The backup's migrations this code does not have: it came from a newer version."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return [
        f"{app}.{name}"
        for app, name in backup.manifest["migrations"].items()
        if (app, name) not in graph.nodes
    ]


def data_held() -> str | None:
    """What the configured database already holds, in words; None when it holds nobody."""
    from lastbell.accounts.models import User
    from lastbell.people.models import Student
    from lastbell.schools.models import School

    tables = set(connection.introspection.table_names())
    counts = []
    for model, one, many in (
        (School, "school", "schools"),
        (Student, "student", "students"),
        (User, "user account", "user accounts"),
    ):
        if model._meta.db_table in tables:
            n = model.objects.count()
            if n:
                counts.append(plural(n, one, many))
    return ", ".join(counts) or None


def backup_restore(*, path: Path, force: bool = False, say: Say = lambda _: None) -> dict:
    """Replace the configured database and kept files with the backup at `path`; its manifest.
    Web and worker processes must be stopped first (the caller says so)."""
    kind = database_kind()
    data_dir = Path(settings.DATA_DIR)
    # Unpacked in DATA_DIR, so files move into place with a rename (and /tmp may be small).
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".lastbell-restore-") as work:
        say(f"Reading {path}…")
        backup = backup_open(Path(path), Path(work), kind)
        manifest = backup.manifest
        say(
            f"  made {manifest['created_at']} by Last Bell {manifest['version']} "
            f"({_kind_name(manifest['database'])}, "
            f"{plural(manifest['files'], 'file', 'files')})"
        )
        newer = newer_migrations(backup)
        if newer:
            raise BackupError(
                "This backup was made by a newer version of Last Bell than this one: its "
                f"database has changes this version does not know ({', '.join(newer)}). "
                f"Install Last Bell {manifest['version']} or newer, then restore it."
            )
        held = data_held()
        if held and not force:
            raise BackupError(
                f"The database is not empty: it holds {held}. Restoring replaces all of it "
                "with the backup. If that is what you want, run the restore again with --force."
            )
        say("Restoring the database…")
        if kind == "sqlite":
            _sqlite_restore(backup.database)
        else:
            _pg_restore(backup.database)
        say(f"Restoring {plural(manifest['files'], 'file', 'files')}…")
        for name, root in file_folders().items():
            _folder_swap(backup.folder / name, root, Path(work) / f"{name}-before-restore")
    return manifest


def _kind_name(kind: str) -> str:
    return "SQLite" if kind == "sqlite" else "PostgreSQL"


def _sqlite_restore(source: Path) -> None:
    from lastbell.sqlite_backend.base import close_pooled

    connection.close()
    close_pooled()
    connection.ensure_connection()
    src = sqlite3.connect(source)
    try:
        # Page by page into the live file under SQLite's own locking, as one write: another
        # connection sees the old database or the new one, never a mix.
        src.backup(connection.connection, pages=-1)
    finally:
        src.close()
    connection.close()
    close_pooled()


def _pg_restore(dump: Path) -> None:
    tables = connection.introspection.table_names(include_views=False)
    connection.close()
    quote = connection.ops.quote_name
    drops = "".join(f"DROP TABLE IF EXISTS {quote(t)} CASCADE;\n" for t in tables)
    # No NOTICEs ("… does not exist, skipping") for the drops of an empty database.
    env = {**_pg_env(), "PGOPTIONS": "-c client_min_messages=warning"}
    # pg_restore writes the dump as SQL; psql runs it after the drops, all in one transaction.
    # Their messages go to files: a pipe left unread could fill and stall them.
    with tempfile.TemporaryFile() as dump_log, tempfile.TemporaryFile() as psql_log:
        try:
            psql = subprocess.Popen(  # noqa: S603 — PostgreSQL's client, fixed arguments
                ["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",  # noqa: S607
                 "--single-transaction", "--file=-"],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_log,
            )  # fmt: skip
            dump_sql = subprocess.Popen(  # noqa: S603
                ["pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists",  # noqa: S607
                 "--file=-", str(dump)],
                env=env, stdout=subprocess.PIPE, stderr=dump_log,
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise BackupError(
                f"{exc.filename} is not installed. Install PostgreSQL's client programs "
                "(version 15 or newer; on Debian: apt-get install postgresql-client)."
            ) from exc
        try:
            psql.stdin.write(drops.encode())
            shutil.copyfileobj(dump_sql.stdout, psql.stdin)
        except BrokenPipeError:
            pass  # psql stopped at an error: reported below
        finally:
            dump_sql.stdout.close()  # ends pg_restore too if psql stopped early
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
        dump_sql.wait()
        psql.wait()
        if dump_sql.returncode != 0 or psql.returncode != 0:
            dump_log.seek(0)
            psql_log.seek(0)
            detail = (psql_log.read() or dump_log.read()).decode(errors="replace").strip()
            raise BackupError(
                "The database could not be restored, and is as it was before: "
                + (detail or "pg_restore or psql failed")
            )


def _folder_swap(new: Path, root: Path, old: Path) -> None:
    """Leave in `root` the backup's files (`new`) and nothing else. Moved child by child, not
    by renaming `root`: it may be a mounted volume, which cannot be renamed."""
    root.mkdir(parents=True, exist_ok=True)
    old.mkdir()
    # shutil.move renames, or copies where `root` is a file system of its own.
    for child in list(root.iterdir()):
        shutil.move(child, old / child.name)
    if new.is_dir():
        for child in list(new.iterdir()):
            shutil.move(child, root / child.name)
