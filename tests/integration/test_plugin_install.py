"""The plugin claim: the wheel installs into a fresh venv beside a host project."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

HOST_SETTINGS = textwrap.dedent(
    """
    SECRET_KEY = "host-project-test-key"
    DEBUG = True
    ALLOWED_HOSTS = ["*"]
    ROOT_URLCONF = "hostproject.urls"
    INSTALLED_APPS = [
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
        "rest_framework", "rest_framework.authtoken",
        "crm", "segmentation", "campaigns",
    ]
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    TEMPLATES = [{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }]
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "host.sqlite3"}}
    STATIC_URL = "static/"
    USE_TZ = True
    """
)

HOST_URLS = textwrap.dedent(
    """
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns = [
        path("admin/", admin.site.urls),
        path("shop/api/", include("crm.api.urls")),
    ]
    """
)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_installs_beside_a_host_project(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], ROOT)
    wheel = next(dist.glob("django_rulecast-*.whl"))

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path)

    host = tmp_path / "host"
    (host / "hostproject").mkdir(parents=True)
    (host / "hostproject" / "__init__.py").write_text("")
    (host / "hostproject" / "settings.py").write_text(HOST_SETTINGS)
    (host / "hostproject" / "urls.py").write_text(HOST_URLS)
    env_args = [str(python), "-m", "django"]
    base = {"cwd": host}
    subprocess_env = ["env", "DJANGO_SETTINGS_MODULE=hostproject.settings", "PYTHONPATH=."]

    migrate = run(subprocess_env + env_args + ["migrate", "--noinput"], **base)
    assert "Applying crm.0001_initial... OK" in migrate.stdout
    check = run(subprocess_env + env_args + ["check"], **base)
    assert "no issues" in check.stdout
    # The installed package is the wheel, not this checkout.
    where = run(subprocess_env + [str(python), "-c", "import crm; print(crm.__file__)"], **base)
    assert str(venv) in where.stdout
