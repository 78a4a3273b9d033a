"""Board stamps: a token per school that changes in the same transaction as anything its day
board reads.

The board of a school for a date depends only on rows in the database. Every write to those
rows — through our services, an import, the admin, a test or raw SQL — gives the school a new
token in `plans_boardstamp`, because database triggers do it, not our Python code. Tokens only
grow (a counter on SQLite, a sequence on PostgreSQL), so no two committed states of a school
share one, and a rolled-back write leaves token and data as they were. So a board resolved
under a token is the board for every later reader who sees the same token, and can be reused
until something changes (board.py keeps the reused boards). Live updates use the same signal.
Scope 0 is district-wide: names of staff and guardians shown on boards.

SQLite serialises writers, so its triggers simply write the token. On PostgreSQL a row
trigger only notes the school (once per transaction) and a constraint trigger deferred to
commit writes the token: the token row is locked for an instant at commit, not for the length
of a long import, so a parent's write never waits behind one.
"""

# SQL here is built from the constants of this module only, never from input.
# ruff: noqa: S608

from django.db import connection

STAMP_TABLE = "plans_boardstamp"
GLOBAL_KEY = 0

# Every table the day board reads, and how a row of it finds its school:
#   "self" — the row is the school; "school" — a school_id column; "student" — a student_id
#   column; "default" — through its long-term default; "global" — district-wide names.
# A new table the board reads must be added here; test_stamps checks the board's queries.
WATCHED = [
    ("schools_school", "self", "id"),
    ("schools_schoolterm", "school", "school_id"),
    ("schools_calendarday", "school", "school_id"),
    ("schools_homeroom", "school", "school_id"),
    ("schools_busroute", "school", "school_id"),
    ("plans_program", "school", "school_id"),
    ("people_student", "school", "school_id"),
    ("attendance_absence", "student", "student_id"),
    ("plans_planchange", "student", "student_id"),
    ("plans_enrollment", "student", "student_id"),
    ("plans_longtermdefault", "student", "student_id"),
    ("plans_defaultday", "default", "default_id"),
    # Only a change of name matters: a sign-in or a new phone number changes no board.
    ("accounts_user", "global", ("first_name", "last_name", "email")),
    ("people_guardian", "global", ("first_name", "last_name")),
]
OPS = (("ins", "INSERT", ("NEW",)), ("upd", "UPDATE", ("OLD", "NEW")), ("del", "DELETE", ("OLD",)))


def _trigger_name(table: str, op: str) -> str:
    return f"lastbell_stamp_{table}_{op}"


def _changed(columns, differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in columns)


# ---------------------------------------------------------------------------------------------
# SQLite: row triggers that write the token at once.


def _sqlite_school(path, column, row):
    if path == "self":
        return f"SELECT {row}.id AS school"
    if path == "school":
        return f"SELECT {row}.{column} AS school"
    if path == "student":
        return f"SELECT school_id AS school FROM people_student WHERE id = {row}.{column}"
    if path == "default":
        return (
            "SELECT s.school_id AS school FROM plans_longtermdefault d "
            f"JOIN people_student s ON s.id = d.student_id WHERE d.id = {row}.{column}"
        )
    raise ValueError(path)


def _sqlite_touch(schools: str) -> str:
    return (
        f"INSERT OR REPLACE INTO {STAMP_TABLE} (scope, token) "
        f"SELECT school, (SELECT coalesce(max(token), 0) + 1 FROM {STAMP_TABLE}) "
        f"FROM ({schools}) WHERE school IS NOT NULL;"
    )


def _sqlite_statements(table, path, column):
    statements = [f"DROP TRIGGER IF EXISTS {_trigger_name(table, op)}" for op, _, _ in OPS]
    if path == "global":
        touch = _sqlite_touch(f"SELECT {GLOBAL_KEY} AS school")
        return statements + [
            f"CREATE TRIGGER {_trigger_name(table, 'upd')} AFTER UPDATE ON {table} "
            f"WHEN {_changed(column, 'IS NOT')} BEGIN {touch} END"
        ]
    for op, event, rows in OPS:
        schools = " UNION ".join(_sqlite_school(path, column, row) for row in rows)
        statements.append(
            f"CREATE TRIGGER {_trigger_name(table, op)} AFTER {event} ON {table} "
            f"BEGIN {_sqlite_touch(schools)} END"
        )
    return statements


# ---------------------------------------------------------------------------------------------
# PostgreSQL: `lastbell_board_note` runs in each row trigger's WHEN and notes the row's school
# in a transaction-local setting; it is true only the first time a school is noted, so one
# deferred event per school is queued, and `lastbell_board_stamp` writes the tokens at commit.
# Settings made with set_config(..., true) are undone with a rolled-back savepoint, as are the
# events queued in it.

PG_FUNCTIONS = f"""
CREATE SEQUENCE IF NOT EXISTS {STAMP_TABLE}_seq;
CREATE OR REPLACE FUNCTION lastbell_board_note(path text, col text, new_row jsonb, old_row jsonb)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ids bigint[] := '{{}}';
    schools bigint[] := '{{}}';
    one bigint;
    school bigint;
    noted text := coalesce(current_setting('lastbell.board_noted', true), '');
    fresh boolean := false;
BEGIN
    IF path = 'global' THEN
        schools := ARRAY[{GLOBAL_KEY}]::bigint[];
    ELSE
        IF new_row IS NOT NULL THEN ids := ids || (new_row ->> col)::bigint; END IF;
        IF old_row IS NOT NULL THEN ids := ids || (old_row ->> col)::bigint; END IF;
        -- One id at a time: `id = $1` always plans as an index lookup.
        FOREACH one IN ARRAY ids LOOP
            IF path IN ('self', 'school') THEN
                school := one;
            ELSIF path = 'student' THEN
                SELECT school_id INTO school FROM people_student WHERE id = one;
            ELSE
                SELECT s.school_id INTO school FROM plans_longtermdefault d
                  JOIN people_student s ON s.id = d.student_id WHERE d.id = one;
            END IF;
            schools := schools || school;
        END LOOP;
    END IF;
    FOREACH school IN ARRAY coalesce(schools, '{{}}'::bigint[]) LOOP
        CONTINUE WHEN school IS NULL OR position(',' || school || ',' IN noted) > 0;
        noted := noted || ',' || school || ',';
        fresh := true;
    END LOOP;
    IF fresh THEN
        PERFORM set_config('lastbell.board_noted', noted, true);
        PERFORM set_config('lastbell.board_pending', noted, true);
    END IF;
    RETURN fresh;
END;
$$;
CREATE OR REPLACE FUNCTION lastbell_board_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pending text := coalesce(current_setting('lastbell.board_pending', true), '');
    school text;
BEGIN
    FOREACH school IN ARRAY string_to_array(pending, ',') LOOP
        CONTINUE WHEN school = '';
        INSERT INTO {STAMP_TABLE} (scope, token)
            VALUES (school::bigint, nextval('{STAMP_TABLE}_seq'))
            ON CONFLICT (scope) DO UPDATE SET token = EXCLUDED.token;
    END LOOP;
    PERFORM set_config('lastbell.board_pending', '', true);
    RETURN NULL;
END;
$$;
"""


def _pg_statements(table, path, column):
    statements = [
        f"DROP TRIGGER IF EXISTS {_trigger_name(table, op)} ON {table}" for op, _, _ in OPS
    ]
    if path == "global":
        changed = _changed(column, "IS DISTINCT FROM")
        when = f"({changed}) AND lastbell_board_note('global', '', NULL, NULL)"
        triggers = [("upd", "UPDATE", when)]
    else:
        triggers = [
            (op, event, "lastbell_board_note('{}', '{}', {}, {})".format(
                path, column,
                "to_jsonb(NEW)" if "NEW" in rows else "NULL",
                "to_jsonb(OLD)" if "OLD" in rows else "NULL",
            ))
            for op, event, rows in OPS
        ]  # fmt: skip
    for op, event, when in triggers:
        statements.append(
            f"CREATE CONSTRAINT TRIGGER {_trigger_name(table, op)} AFTER {event} ON {table} "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({when}) "
            "EXECUTE FUNCTION lastbell_board_stamp()"
        )
    return statements


def install(conn=None) -> None:
    """(Re)create the triggers. Runs after every migrate: on SQLite, altering a table rebuilds
    it and drops its triggers, so they are never left to a one-off migration."""
    conn = conn or connection
    tables = set(conn.introspection.table_names())
    if STAMP_TABLE not in tables:
        return
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(PG_FUNCTIONS)
            statements, first = _pg_statements, f"nextval('{STAMP_TABLE}_seq')"
        elif conn.vendor == "sqlite":
            statements, first = _sqlite_statements, "1"
        else:
            return
        for table, path, column in WATCHED:
            if table in tables:
                for sql in statements(table, path, column):
                    cursor.execute(sql)
        # Schools that existed before the triggers get their first token.
        cursor.execute(
            f"INSERT INTO {STAMP_TABLE} (scope, token) SELECT id, {first} FROM schools_school "
            f"WHERE id NOT IN (SELECT scope FROM {STAMP_TABLE})"
        )


def installed_tables(conn=None) -> set[str]:
    """Tables that carry a stamp trigger."""
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT event_object_table FROM information_schema.triggers "
                "WHERE trigger_name LIKE 'lastbell_stamp_%%'"
            )
        else:
            cursor.execute(
                "SELECT DISTINCT tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'lastbell_stamp_%'"
            )
        return {row[0] for row in cursor.fetchall()}


def current(school_id: int, conn=None) -> tuple | None:
    """The school's token with the district-wide one, or None when boards must not be reused:
    inside a transaction (its own writes may yet be rolled back, and on PostgreSQL are stamped
    only at commit) or before the school has a token."""
    conn = conn or connection
    if conn.in_atomic_block:
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT scope, token FROM {STAMP_TABLE} WHERE scope IN (%s, %s)",
            [GLOBAL_KEY, school_id],
        )
        tokens = dict(cursor.fetchall())
    if school_id not in tokens:
        return None
    return tokens[school_id], tokens.get(GLOBAL_KEY)
