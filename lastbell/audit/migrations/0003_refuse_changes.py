"""On PostgreSQL, the database itself refuses to change or delete an audit event, whoever asks
(the app, a shell, a script), except the redaction of `audit_redact_student`: the labels and
the values of before/after replaced by the marker (keys kept), the event marked redacted, and
nothing else touched. A redacted event is then as fixed as any other: its content is no longer
checked against its digest, so nothing but the marker may be written into it. TRUNCATE stays possible
for the database's owner (the test suite's flush uses it); `audit_verify` notices a log emptied
that way from the districts' chain heads."""

from django.db import migrations

from lastbell.audit.chain import REDACTED

CREATE = f"""
-- A redacted before/after: the keys it had, each with the marker (or the marker, or NULL).
CREATE FUNCTION audit_json_redacted(old jsonb, new jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF old IS NULL OR jsonb_typeof(old) = 'null' THEN  -- bulk writers store JSON null
        RETURN new IS NULL OR jsonb_typeof(new) = 'null';
    ELSIF jsonb_typeof(old) <> 'object' THEN
        RETURN new = to_jsonb('{REDACTED}'::text);
    ELSIF new IS NULL OR jsonb_typeof(new) <> 'object' THEN
        RETURN false;
    END IF;
    RETURN (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(old) k)
           IS NOT DISTINCT FROM (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(new) k)
       AND NOT EXISTS (SELECT 1 FROM jsonb_each(new) e WHERE e.value <> to_jsonb('{REDACTED}'::text));
END;
$$;
CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.redacted
       AND NEW.actor_label = '{REDACTED}' AND NEW.target_label = '{REDACTED}'
       AND (NEW.id, NEW.seq, NEW.digest, NEW.chain, NEW.at, NEW.action, NEW.via,
            NEW.district_id, NEW.target_type, NEW.target_id)
           = (OLD.id, OLD.seq, OLD.digest, OLD.chain, OLD.at, OLD.action, OLD.via,
              OLD.district_id, OLD.target_type, OLD.target_id)
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.school_id IS NOT DISTINCT FROM OLD.school_id
       AND NEW.student_id IS NOT DISTINCT FROM OLD.student_id
       AND audit_json_redacted(OLD.before, NEW.before)
       AND audit_json_redacted(OLD.after, NEW.after)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit log is never edited or deleted (% of event %).', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER audit_event_refuse_change BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_event_refuse_change ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_refuse_change();
DROP FUNCTION IF EXISTS audit_json_redacted(jsonb, jsonb);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_hash_chain")]

    operations = [migrations.RunPython(create, drop)]
