"""`lastbell backup` and `lastbell restore`: a round trip gives back the same data and files,
on SQLite and on PostgreSQL, and a restore refuses what it should, changing nothing."""

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from lastbell import testing
from lastbell.ops.backup import sqlite_copy
from lastbell.people.models import AuthorizedAdult, PickupSource, Student
from lastbell.schools.models import School

PHOTO = bytes(range(256)) * 40  # not text: bytes must come back exactly


@pytest.fixture
def data_dir(settings, tmp_path):
    """A DATA_DIR of the test's own: a restore replaces the files kept there."""
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = settings.DATA_DIR / "media"
    settings.MEDIA_ROOT.mkdir(parents=True)
    return settings.DATA_DIR


def _district():
    """A small district: two schools, students, a guardian, an adult with a photo."""
    district = testing.make_district()
    school = testing.make_school(district, "Lincoln Elementary")
    testing.make_school(district, "Washington Middle")
    students = [testing.make_student(school, last=f"Rivera{n}") for n in range(3)]
    testing.make_guardian(students[0])
    adult = AuthorizedAdult.objects.create(
        student=students[0], first_name="Ruth", last_name="Aunt", relationship="aunt",
        phone="555-0101", source=PickupSource.STAFF,
    )  # fmt: skip
    adult.photo.save("ruth.jpg", ContentFile(PHOTO))
    # Where truancy letters and import uploads are kept (truancy/documents.py, imports).
    for folder, name in (("letters", "run-1.pdf"), ("uploads", "abc/attendance.csv")):
        path = settings.DATA_DIR / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PHOTO[::-1])
    return school, students, adult


def _data() -> str:
    """Every row of every table Django knows, as JSON: equal means the same data."""
    out = io.StringIO()
    call_command("dumpdata", "--natural-foreign", stdout=out, indent=0)
    return out.getvalue()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run(command, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def _round_trip(tmp_path, data_dir):
    school, students, adult = _district()
    data, files = _data(), _files(data_dir)
    assert len(files) == 3 and PHOTO in files.values()

    said = _run("backup", str(tmp_path))
    [backup] = tmp_path.glob("lastbell-*.tar.gz")
    assert "Adding 3 files (30.0 KB): uploads, letters and imports…" in said
    assert f"Backup written to {backup}" in said
    assert backup.stat().st_mode & 0o777 == 0o600  # every family's data: its owner's only

    # A day of changes and mistakes after the backup.
    Student.objects.filter(pk=students[1].pk).update(first_name="Changed")
    students[2].delete()
    School.objects.filter(name="Washington Middle").delete()
    testing.make_school(school.district, "New School")
    Path(adult.photo.path).write_bytes(b"overwritten")
    (data_dir / "media" / "stray.txt").write_text("made after the backup")
    (data_dir / "letters" / "run-1.pdf").unlink()
    assert _data() != data

    said = _run("restore", str(backup), "--force")
    assert "Restoring the database…" in said
    assert "Restoring 3 files…" in said
    assert _data() == data
    assert _files(data_dir) == files
    assert Student.objects.get(pk=students[1].pk).first_name == "Ana"


@pytest.mark.django_db(transaction=True)
def test_it_gives_back_the_data_and_files(tmp_path, data_dir):
    # On SQLite in the default run, on PostgreSQL in CI's second run.
    _round_trip(tmp_path, data_dir)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_gives_back_the_data_and_files_on_postgresql(tmp_path, data_dir):
    assert connection.vendor == "postgresql"
    _round_trip(tmp_path, data_dir)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_restore_over_data_without_force(tmp_path, data_dir):
    _district()
    backup = tmp_path / "b.tar.gz"
    _run("backup", str(backup))
    Student.objects.update(first_name="Kept")
    before = _data()
    with pytest.raises(CommandError) as refused:
        _run("restore", str(backup))
    assert str(refused.value) == (
        "The database is not empty: it holds 2 schools, 3 students, 1 user account. Restoring "
        "replaces all of it with the backup. If that is what you want, run the restore again "
        "with --force."
    )
    assert _data() == before


def _rewrite_manifest(backup: Path, change) -> Path:
    """A copy of `backup` with its manifest changed by `change(manifest)`."""
    edited = backup.with_name("edited.tar.gz")
    with tarfile.open(backup) as src, tarfile.open(edited, "w:gz") as dst:
        for member in src.getmembers():
            content = src.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(content)
                change(manifest)
                content = json.dumps(manifest).encode()
                member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    return edited


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_backup_from_a_newer_version(tmp_path, data_dir):
    _district()
    backup = tmp_path / "b.tar.gz"
    _run("backup", str(backup))
    newer = _rewrite_manifest(
        backup, lambda m: m.update(version="9.0.0") or m["migrations"].update(people="0099_next")
    )
    Student.objects.update(first_name="Kept")
    before = _data()
    with pytest.raises(CommandError) as refused:
        _run("restore", str(newer), "--force")
    assert str(refused.value) == (
        "This backup was made by a newer version of Last Bell than this one: its database has "
        "changes this version does not know (people.0099_next). Install Last Bell 9.0.0 or "
        "newer, then restore it."
    )
    assert _data() == before


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_backup_of_the_other_kind_of_database(tmp_path, data_dir):
    _district()
    backup = tmp_path / "b.tar.gz"
    _run("backup", str(backup))
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    edited = _rewrite_manifest(backup, lambda m: m.update(database=other))
    with pytest.raises(CommandError, match="This is a backup of a .* database, and Last Bell"):
        _run("restore", str(edited), "--force")


@pytest.mark.django_db
def test_it_refuses_a_file_that_is_no_backup(tmp_path, data_dir):
    not_backup = tmp_path / "photo.jpg"
    not_backup.write_bytes(PHOTO)
    with pytest.raises(CommandError) as refused:
        _run("restore", str(not_backup))
    assert str(refused.value).startswith(f"{not_backup} is not a Last Bell backup, or it is")
    with pytest.raises(CommandError, match="There is no file at "):
        _run("restore", str(tmp_path / "missing.tar.gz"))


@pytest.mark.django_db
def test_it_never_overwrites_a_file(tmp_path, data_dir):
    existing = tmp_path / "b.tar.gz"
    existing.write_text("last week's backup")
    with pytest.raises(CommandError, match="already exists"):
        _run("backup", str(existing))
    assert existing.read_text() == "last week's backup"


def test_the_sqlite_copy_is_of_one_moment_and_lets_a_writer_go_on(tmp_path):
    # The server's situation: a WAL database with a write in progress on another connection.
    path = tmp_path / "live.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.execute("INSERT INTO t VALUES (1)")
    setup.commit()
    writer = sqlite3.connect(path, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (2)")  # not committed yet

    reader = sqlite3.connect(path, timeout=0)
    sqlite_copy(reader, tmp_path / "copy.sqlite3")
    writer.execute("INSERT INTO t VALUES (3)")
    writer.commit()  # the copy did not block the writer

    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT n FROM t").fetchall() == [(1,)]
    assert setup.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,), (3,)]
    for conn in (setup, writer, reader, copy):
        conn.close()
