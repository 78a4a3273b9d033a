"""On PostgreSQL the database itself refuses to change or delete a custody event, whoever
asks: the chain of custody is corrected only by new events (the models refuse it too)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION lastbell_custody_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The chain of custody is never edited or deleted: add a correcting event.'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS custody_append_only ON dismissal_custodyevent;
CREATE TRIGGER custody_append_only BEFORE UPDATE OR DELETE ON dismissal_custodyevent
    FOR EACH ROW EXECUTE FUNCTION lastbell_custody_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS custody_append_only ON dismissal_custodyevent;
DROP FUNCTION IF EXISTS lastbell_custody_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("dismissal", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
