"""What a process that never segments loads: a web worker, an import, a campaign worker."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import django
django.setup()
from importlib import import_module
from django.conf import settings
from django.urls import get_resolver
import_module(settings.ROOT_URLCONF)
get_resolver().url_patterns  # every view module, the admin's and the API's
import crm.importing, crm.tasks, campaigns.tasks, segmentation.tasks
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & {"sklearn", "scipy"})))
"""


def test_the_web_and_import_code_do_not_load_scikit_learn_or_scipy():
    # About 90 MB of each such process; a run loads them when it runs.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True)
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == []


def test_the_pipeline_package_still_gives_its_names():
    from segmentation import pipeline
    from segmentation.pipeline.estimator import RuleSegmenter

    assert pipeline.RuleSegmenter is RuleSegmenter
    assert set(pipeline.__all__) <= set(dir(pipeline))
