# PostgreSQL: Django gives each unique text column a second index with
# varchar_pattern_ops, for LIKE 'prefix%' lookups. Nothing looks customers, orders or
# events up by a prefix of these keys (the admin and API search with icontains, which
# no B-tree serves), while every imported row kept both up to date and a first import
# built them again. crm.importing.indexes leaves them out of what it rebuilds.

from django.db import migrations

PATTERN_INDEXED = {
    "Customer": ("email", "external_id"),
    "Order": ("external_id", "import_key"),
    "Event": ("external_id",),
}


def _pattern_indexes(apps):
    for model_name, fields in PATTERN_INDEXED.items():
        model = apps.get_model("crm", model_name)
        for name in fields:
            yield model, model._meta.get_field(name)


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _pattern_indexes(apps):
        name = schema_editor._create_index_name(model._meta.db_table, [field.column], "_like")
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _pattern_indexes(apps):
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0004_i14_event_time_index'),
    ]

    operations = [
        migrations.RunPython(drop_pattern_indexes, create_pattern_indexes),
    ]
