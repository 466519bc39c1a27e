"""API throttling: counts shared in Redis across clients, 429 past the rate, fail open."""

from __future__ import annotations

import logging
import socket
from http import HTTPStatus
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import User
from core import throttling
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = {"anon": "2/min", "user": "3/min", "annotate": "1/min", "compute": "1/min"}
    for throttle in (throttling.AnonThrottle, throttling.UserThrottle, throttling.ScopedThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)
    # Earlier tests (and the other throttles' windows) made counts: start from none.
    client = throttling.redis_client()
    stale = list(client.scan_iter(f"{throttling.KEY_PREFIX}:*"))
    if stale:
        client.delete(*stale)


def counted(key: str) -> int:
    """The request count of the current window of the throttle key `key`."""
    client = throttling.redis_client()
    [window] = client.keys(f"{throttling.KEY_PREFIX}:{key}:*")
    value = client.get(window)
    assert value is not None
    return int(value)


def test_user_rate_is_shared_by_every_worker_and_answers_429(
    low_rates: None, researcher_user: User
) -> None:
    url = reverse("project-list")
    first_worker, second_worker = client_for(researcher_user), client_for(researcher_user)
    statuses = [first_worker.get(url).status_code for _ in range(2)]
    statuses.append(second_worker.get(url).status_code)
    assert statuses == [HTTPStatus.OK] * 3
    refused = second_worker.get(url)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "throttled" in refused.json()["detail"].lower()
    assert int(refused["Retry-After"]) > 0
    # The count lives in Redis, not in the process.
    assert counted(f"throttle_user_{researcher_user.pk}") == 4
    assert first_worker.get(url).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_anonymous_rate_is_per_address(low_rates: None) -> None:
    client = APIClient()
    url = reverse("api-schema")
    assert [client.get(url).status_code for _ in range(2)] == [HTTPStatus.OK] * 2
    assert client.get(url).status_code == HTTPStatus.TOO_MANY_REQUESTS
    other = APIClient(REMOTE_ADDR="10.1.2.3")
    assert other.get(url).status_code == HTTPStatus.OK


def test_redis_outage_fails_open_and_logs_once(
    low_rates: None, settings: Any, researcher_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    settings.API_THROTTLE_REDIS_URL = f"redis://127.0.0.1:{dead}/0"
    client = client_for(researcher_user)
    with caplog.at_level(logging.WARNING, logger="core.redis_outage"):
        statuses = [client.get(reverse("project-list")).status_code for _ in range(6)]
    assert statuses == [HTTPStatus.OK] * 6  # past the 3/min rate: nobody is locked out
    outages = [r for r in caplog.records if "API throttling is off" in r.getMessage()]
    assert len(outages) == 1
    assert f"Redis at redis://127.0.0.1:{dead}/0 is unreachable" in outages[0].getMessage()
    # Redis is left alone for a while after the failure: one attempt, not six.
    assert throttling.throttle_outage().skipping()
    throttling.throttle_outage().clear()


def test_annotate_scope_limits_views_that_name_it(low_rates: None, annotator_user: User) -> None:
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory, force_authenticate
    from rest_framework.views import APIView

    class AnnotateProbe(APIView):
        throttle_scope = "annotate"

        def get(self, request: Request) -> Response:
            return Response({"ok": True})

    view = AnnotateProbe.as_view()
    statuses = []
    for _ in range(2):
        request = APIRequestFactory().get("/probe/")
        force_authenticate(request, annotator_user)
        statuses.append(view(request).status_code)
    assert statuses == [HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]  # 1/min for "annotate"


def test_a_spoofed_forwarded_for_header_does_not_dodge_the_anonymous_rate(
    low_rates: None,
) -> None:
    url = reverse("api-schema")
    statuses = [
        APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").get(url).status_code for n in range(3)
    ]
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_behind_a_trusted_proxy_the_address_it_added_is_the_client(
    low_rates: None, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    url = reverse("api-schema")

    def via_proxy(forwarded: str) -> int:
        client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
        return client.get(url).status_code

    # The client prepends whatever it likes; the proxy appends the address it saw.
    statuses = [via_proxy(f"198.51.100.{n}, 192.0.2.7") for n in range(3)]
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert via_proxy("192.0.2.8") == HTTPStatus.OK  # another client behind the same proxy


@pytest.mark.parametrize("name", ["project-leaderboard", "project-agreement", "score-images"])
def test_routes_that_compute_have_their_own_tighter_rate(
    name: str, low_rates: None, researcher_user: User
) -> None:
    client = client_for(researcher_user)
    url = reverse(name, kwargs={"slug": "nope"}) if name != "score-images" else reverse(name)
    first = client.get(url) if name != "score-images" else client.post(url, {}, format="json")
    again = client.get(url) if name != "score-images" else client.post(url, {}, format="json")
    assert first.status_code != HTTPStatus.TOO_MANY_REQUESTS
    assert again.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.parametrize("name", ["datasets", "quality-dashboard"])
def test_pages_that_compute_answer_a_429_page_past_their_rate(
    name: str, low_rates: None, settings: Any, admin_user: User
) -> None:
    from tests.factories.tasks import make_project

    settings.PAGE_THROTTLE_RATES = {"compute": "2/min"}
    project = make_project("throttled")
    client = client_for(admin_user)
    client.force_login(admin_user)
    url = reverse(name) if name == "datasets" else reverse(name, kwargs={"slug": project.slug})
    statuses = [client.get(url).status_code for _ in range(2)]
    assert statuses == [HTTPStatus.OK] * 2
    refused = client.get(url)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    html = refused.content.decode()
    assert "Too many requests for this page" in html and "2/min" in html
    assert 0 < int(refused["Retry-After"]) <= 60
    assert f"Wait {refused['Retry-After']} second" in html
    assert counted(f"page_compute_{admin_user.pk}") == 3
    # Another signed-in user has their own count.
    other = User.objects.create_user("second-admin", password="x", role=admin_user.role)
    client.force_login(other)
    assert client.get(url).status_code == HTTPStatus.OK
