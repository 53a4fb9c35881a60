"""On the demo shop, whose hidden groups are known, the rule segments recover them."""

from datetime import UTC, datetime

import pytest
from sklearn.metrics import adjusted_rand_score

from crm.demo import seed_demo_shop
from crm.models import Customer
from segmentation.models import RunStatus, SegmentationRun, SegmentMembership
from segmentation.services import default_segmentation, execute_run

NOW = datetime(2026, 6, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_default_settings_recover_the_hidden_groups():
    seed_demo_shop(customers=2000, seed=3, now=NOW)
    run = SegmentationRun.objects.create(segmentation=default_segmentation())
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == RunStatus.SUCCEEDED, run.error

    hidden = dict(Customer.objects.values_list("pk", "attributes__demo_group"))
    found = dict(SegmentMembership.objects.filter(segment__run=run)
                 .values_list("customer_id", "segment__index"))
    ids = sorted(hidden)
    ari = adjusted_rand_score([hidden[i] for i in ids], [found.get(i, -1) for i in ids])
    assert ari >= 0.8, f"ARI {ari:.3f}, k={run.metrics['k']}"
    assert run.metrics["fidelity"] >= 0.92
    assert run.metrics["price_of_explainability"] <= 1.05
    shares = [segment.share for segment in run.segments.all()]
    assert min(shares) >= 0.02
