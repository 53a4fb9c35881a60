"""A large first import sets the tables' secondary indexes aside and builds them again."""

import io

import pytest
from django.db import connection
from django.test import override_settings

from crm.importing import import_csv, indexes
from crm.models import Customer, Order

pytestmark = pytest.mark.django_db(transaction=True)  # DDL outside a test transaction

LARGE_FROM_50 = override_settings(RULECAST_CRM={"IMPORT_REBUILD_INDEXES_ROWS": 50,
                                                "IMPORT_BATCH_SIZE": 40})
SECONDARY = {"crm_customer_signup_idx", "crm_customer_country_idx"}


def present(model) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, model._meta.db_table))


def customers_file(rows: int) -> io.BytesIO:
    lines = "".join(f"C{i},u{i}@example.com,CN,2024-01-{i % 28 + 1:02d}\n" for i in range(rows))
    return io.BytesIO(("external_id,email,country,signed_up_at\n" + lines).encode())


def test_the_estimate_of_rows_comes_from_the_files_size():
    assert indexes.estimate_rows(customers_file(1000)) == pytest.approx(1001, rel=0.05)
    assert indexes.estimate_rows(object()) is None


@LARGE_FROM_50
def test_a_large_first_import_builds_the_indexes_after_loading(postgres):
    during = []
    report = import_csv(source=customers_file(200), kind="customers",
                        on_progress=lambda rows: during.append(present(Customer)))

    assert report.customers.created == 200
    assert during and all(not SECONDARY & names for names in during)
    assert SECONDARY <= present(Customer)
    assert "crm_order_placed_idx" in present(Order)  # orders were not loaded


@LARGE_FROM_50
def test_a_second_import_or_a_small_one_keeps_the_indexes(postgres):
    import_csv(source=customers_file(200), kind="customers")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_customer")  # the planner's row count, as autovacuum would
    during = []
    import_csv(source=customers_file(300), kind="customers",
               on_progress=lambda rows: during.append(present(Customer)))
    assert during and all(SECONDARY <= names for names in during)


@LARGE_FROM_50
def test_a_failed_import_and_an_interrupted_one_leave_no_index_missing(postgres):
    def fail(rows):
        raise RuntimeError("the import dies")

    with override_settings(RULECAST_CRM={"IMPORT_REBUILD_INDEXES_ROWS": 50,
                                         "IMPORT_WRITER_THREAD": False}), \
            pytest.raises(RuntimeError):
        import_csv(source=customers_file(200), kind="customers", on_progress=fail)
    assert SECONDARY <= present(Customer)

    # A process killed mid-import: the next import builds what is missing first.
    with connection.schema_editor(atomic=False) as editor:
        for index in Customer._meta.indexes:
            editor.remove_index(Customer, index)
    assert not SECONDARY & present(Customer)
    import_csv(source=io.BytesIO(b"email\na@example.com\n"), kind="customers")
    assert SECONDARY <= present(Customer)
