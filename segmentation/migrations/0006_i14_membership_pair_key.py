# The membership's key is its (segment, customer) pair: the surrogate id and the unique
# pair's index go, the primary key takes the pair (one index fewer to keep up when a run
# writes every customer's row).

from django.db import migrations, models


def add_pair_key(apps, schema_editor):
    model = apps.get_model("segmentation", "SegmentMembership")
    if schema_editor.connection.vendor == "sqlite":
        # SQLite cannot add a primary key to a table: rebuild it from the model.
        schema_editor._remake_table(model)
        return
    table = schema_editor.quote_name(model._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (segment_id, customer_id)")


def drop_pair_key(apps, schema_editor):
    model = apps.get_model("segmentation", "SegmentMembership")
    if schema_editor.connection.vendor == "sqlite":
        return  # the table is rebuilt with the surrogate id on the way back
    table = model._meta.db_table
    name = schema_editor.quote_name(f"{table}_pkey")
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} DROP CONSTRAINT {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('segmentation', '0005_i14seg_bulk_writes'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='segmentmembership',
            name='segmentation_membership_unique',
        ),
        migrations.RemoveField(
            model_name='segmentmembership',
            name='id',
        ),
        migrations.AddField(
            model_name='segmentmembership',
            name='pk',
            field=models.CompositePrimaryKey('segment', 'customer', blank=True, editable=False, primary_key=True, serialize=False),
        ),
        migrations.RunPython(add_pair_key, drop_pair_key),
    ]
