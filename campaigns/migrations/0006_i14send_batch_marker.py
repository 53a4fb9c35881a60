"""The send batches' crash markers, in an UNLOGGED table on PostgreSQL.

Crash recovery empties an unlogged table (a clean shutdown keeps it), which is the
point: a missing marker tells that the database crashed after the batch reserved its
deliveries, so the asynchronously committed attempt records may be lost. Other
databases get an ordinary table (their commits are all durable).
"""

from django.db import migrations, models

TABLE = "campaigns_batchmarker"


def unlogged(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(TABLE)} SET UNLOGGED")


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0005_i15_campaign_archived_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="BatchMarker",
            fields=[
                ("token", models.UUIDField(primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(unlogged, migrations.RunPython.noop, elidable=False),
    ]
