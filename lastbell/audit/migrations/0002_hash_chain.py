"""Chain the audit log (lastbell/audit/chain.py): existing events are linked per district in
the order they were written (id), streamed, and their districts' heads set."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def link_existing(apps, schema_editor):
    from lastbell.audit.chain import CONTENT, GENESIS, chain_hash, event_digest

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    heads: dict[int, list] = {}
    linked = []
    rows = AuditEvent.objects.order_by("id").values_list("id", *CONTENT)
    for pk, *content in rows.iterator(chunk_size=2000):
        head = heads.setdefault(content[CONTENT.index("district_id")], [0, GENESIS])
        seq = head[0] + 1
        digest = event_digest(seq, content)
        head[0], head[1] = seq, chain_hash(head[1], digest)
        linked.append(AuditEvent(pk=pk, seq=seq, digest=digest, chain=head[1]))
        if len(linked) >= 2000:
            AuditEvent.objects.bulk_update(linked, ["seq", "digest", "chain"])
            linked.clear()
    AuditEvent.objects.bulk_update(linked, ["seq", "digest", "chain"])
    AuditChain.objects.bulk_create(
        AuditChain(district_id=d, seq=seq, chain=chain) for d, (seq, chain) in heads.items()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("people", "0003_guardian_mailing_address"),
        ("schools", "0003_checkin_opens_minutes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                (
                    "district",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="schools.district",
                    ),
                ),
                ("seq", models.BigIntegerField(default=0)),
                ("chain", models.CharField(default="0" * 64, max_length=64)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="redacted",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="district",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="schools.district",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="school",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="schools.school",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="student",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="people.student",
            ),
        ),
        migrations.RunPython(link_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("district", "seq"), name="audit_one_event_per_link"
            ),
        ),
    ]
