"""What the image relies on: static files served by the web process once collected, a
probe answered whatever host it names, and the site's own address always allowed."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.digest.test_settings import PRODUCTION, manage, shell


def test_a_probe_at_the_containers_own_address_gets_healthz_whatever_allowed_hosts_says(
    db, settings
):
    settings.ALLOWED_HOSTS = ["papers.example.org"]
    probe = Client(HTTP_HOST="127.0.0.1:8000")

    response = probe.get("/healthz")

    assert response.status_code == 200
    assert json.loads(response.content)["status"] == "ok"
    assert probe.get("/").status_code == 400, "every other page still checks the host"


def test_the_site_urls_host_is_always_allowed():
    result = shell(
        "from django.conf import settings; print(settings.ALLOWED_HOSTS)",
        env_file=None,
        **PRODUCTION | {"ALLOWED_HOSTS": "127.0.0.1,localhost"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['127.0.0.1', 'localhost', 'papers.example.org']"


def test_pages_render_plain_static_names_before_anything_is_collected(client, db):
    html = client.get("/").content.decode()

    assert 'href="/static/css/site.css"' in html


@pytest.fixture
def collected(tmp_path):
    root = tmp_path / "static"
    result = manage("collectstatic", "--noinput", "-v", "0", STATIC_ROOT=str(root))
    assert result.returncode == 0, result.stderr
    return root


def test_once_collected_pages_name_hashed_files_that_the_web_process_serves_itself(collected):
    # A process of its own: the settings read STATIC_ROOT at start-up, as the image's do.
    code = (
        "from django.conf import settings\n"
        "from django.templatetags.static import static\n"
        "from django.test import Client\n"
        "settings.ALLOWED_HOSTS.append('testserver')\n"
        "css = static('css/site.css')\n"
        "response = Client().get(css, secure=True, HTTP_ACCEPT_ENCODING='gzip')\n"
        "print(css, response.status_code, response['Cache-Control'], "
        "response.get('Content-Encoding'), sep='|')\n"
    )
    result = shell(code, env_file=None, **PRODUCTION | {"STATIC_ROOT": str(collected)})

    assert result.returncode == 0, result.stderr
    css, status, cache, encoding = result.stdout.strip().split("|")
    assert css != "/static/css/site.css" and css.endswith(".css"), "a hashed name"
    assert status == "200"
    assert "immutable" in cache
    assert encoding == "gzip"
    assert (collected / "staticfiles.json").is_file()
