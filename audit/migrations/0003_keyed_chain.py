"""The audit chain becomes keyed (HMAC with AUDIT_KEYS) and numbered; existing case events get sealed into it.

Entries written before this migration are re-signed in their order, once, by the table's owner (the trigger is
off for that moment only); from here on the application only INSERTs.
"""

from django.db import migrations, models

from audit import chain


def sign_existing_entries(apps, schema_editor):
    entry_model = apps.get_model("audit", "AuditEntry")
    entries = list(entry_model.objects.order_by("id"))
    if not entries:
        return
    key_name, key = chain.signing_key()
    previous = chain.GENESIS
    for seq, entry in enumerate(entries, start=1):
        content = chain.content_of(entry)
        entry.seq, entry.key_id, entry.previous_mac = seq, key_name, previous
        entry.position_mac = chain.position_mac(key, seq=seq, previous_mac=previous)
        entry.mac = previous = chain.entry_mac(
            key, seq=seq, previous_mac=previous, key_name=key_name, content=content
        )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
    entry_model.objects.bulk_update(entries, ["seq", "key_id", "previous_mac", "position_mac", "mac"], batch_size=2000)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


def seal_existing_case_events(apps, schema_editor):
    from audit.services import seal_case_events_after

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM cases_caseevent)")
        if not cursor.fetchone()[0]:
            return
    seal_case_events_after(0, model=apps.get_model("audit", "AuditEntry"))


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only"), ("cases", "0011_reference_version")]

    operations = [
        migrations.RenameField("auditentry", "previous_digest", "previous_mac"),
        migrations.RenameField("auditentry", "digest", "mac"),
        migrations.AddField("auditentry", "seq", models.PositiveBigIntegerField(null=True, verbose_name="position in the chain")),
        migrations.AddField(
            "auditentry", "key_id", models.CharField(default="", max_length=16, verbose_name="signing key"), preserve_default=False
        ),
        migrations.AddField("auditentry", "position_mac", models.CharField(default="", max_length=64), preserve_default=False),
        migrations.RunPython(sign_existing_entries, migrations.RunPython.noop),
        migrations.AlterField(
            "auditentry", "seq", models.PositiveBigIntegerField(unique=True, verbose_name="position in the chain")
        ),
        migrations.AlterModelOptions(
            "auditentry", options={"ordering": ["seq"], "verbose_name": "audit entry", "verbose_name_plural": "audit log"}
        ),
        migrations.AlterField(
            "auditentry",
            "action",
            models.CharField(choices=[
                    ("login", "登录"),
                    ("login_failed", "登录失败"),
                    ("logout", "退出"),
                    ("reveal", "查看完整个人信息"),
                    ("transition", "案件流转"),
                    ("import", "导入"),
                    ("export", "导出"),
                    ("admin_change", "后台修改"),
                    ("case_events", "案件流转记录封存"),
                ],
                 db_index=True, max_length=32, verbose_name="action"),
        ),
        migrations.RunPython(seal_existing_case_events, migrations.RunPython.noop),
    ]
