"""A large first import sets the tables' secondary indexes aside and builds them again."""

import io

import pytest
from django.db import connection
from django.test import override_settings

from crm.importing import import_csv, indexes
from crm.models import Customer, Order
from crm.privacy.models import ConsentRecord

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


CONSENT_FK = "crm_consentrecord_customer_id_00b5e9dc_fk_crm_customer_id"
ALSO_SET_ASIDE = {  # the consent history's indexes (customers': SECONDARY)
    ConsentRecord: {"crm_consent_cust_idx", "crm_consentrecord_customer_id_00b5e9dc"},
}
PATTERN_TWINS = {"crm_customer_email_38c78cfa_like", "crm_customer_external_id_e17aa634_like"}


def consent_file(rows: int) -> io.BytesIO:
    lines = "".join(f"C{i},u{i}@example.com,{'granted' if i % 2 else 'withdrawn'}\n"
                    for i in range(rows))
    return io.BytesIO(("external_id,email,consent_status\n" + lines).encode())


def foreign_key_state(name: str) -> bool | None:
    """Whether the constraint is validated; None when it is missing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT convalidated FROM pg_constraint WHERE conname = %s", [name])
        row = cursor.fetchone()
    return None if row is None else row[0]


@LARGE_FROM_50
def test_a_large_first_import_sets_aside_every_non_unique_index_and_the_consent_key(
        postgres, monkeypatch):
    from crm.importing import indexes

    built_on = []  # the connection each index was built on
    create_index = indexes._create_index

    def recording(sql, *, with_memory):
        create_index(sql, with_memory=with_memory)
        built_on.append(id(connection.connection))  # after: a new thread connects on use

    monkeypatch.setattr(indexes, "_create_index", recording)
    during = []
    report = import_csv(
        source=consent_file(200), kind="customers",
        on_progress=lambda rows: during.append(
            (present(Customer), present(ConsentRecord), foreign_key_state(CONSENT_FK))),
    )

    assert report.customers.created == 200
    for customer_names, consent_names, key in during:
        assert not SECONDARY & customer_names
        assert not ALSO_SET_ASIDE[ConsentRecord] & consent_names
        assert key is None
        assert {"crm_customer_email_key", "crm_customer_external_id_key"} <= customer_names
    assert SECONDARY <= present(Customer)
    assert ALSO_SET_ASIDE[ConsentRecord] <= present(ConsentRecord)
    assert not PATTERN_TWINS & present(Customer)  # dropped by the schema, never rebuilt
    assert foreign_key_state(CONSENT_FK) is True
    # Built side by side: on two connections of their own, not the import's.
    set_aside = len(SECONDARY | ALSO_SET_ASIDE[ConsentRecord])
    assert len(built_on) >= set_aside
    assert len(set(built_on[-set_aside:])) == 2
    # The history is written with the right customers (ids drawn before COPY).
    records = ConsentRecord.objects.values_list("customer__external_id", "status")
    assert sorted(records) == sorted(
        (f"C{i}", "granted" if i % 2 else "withdrawn") for i in range(200))


@LARGE_FROM_50
def test_an_interrupted_import_leaves_the_consent_key_and_indexes_to_the_next_one(postgres):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE crm_consentrecord DROP CONSTRAINT {CONSENT_FK}")
        cursor.execute("DROP INDEX crm_consent_cust_idx")
    assert foreign_key_state(CONSENT_FK) is None

    import_csv(source=io.BytesIO(b"email\na@example.com\n"), kind="customers")

    assert foreign_key_state(CONSENT_FK) is True
    assert "crm_consent_cust_idx" in present(ConsentRecord)
