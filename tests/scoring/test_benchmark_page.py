"""/benchmarks/: the stored benchmark results, generators x styles, for researchers."""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from annotation.models import Role, User
from scoring.models import BenchmarkResult, ModelVersion
from tests.factories.users import make_user

Register = Callable[..., ModelVersion]
STYLES = ("anime", "concept-art", "paintings", "photo")


def figures(base: float) -> dict[str, Any]:
    """Figures as the benchmark stores them: the style means base, base+1, ..."""
    styles = {
        style: {
            "mean": base + i,
            "std": 0.1,
            "ci_low": base + i - 0.25,
            "ci_high": base + i + 0.5,
            "images": 80,
        }
        for i, style in enumerate(STYLES)
    }
    average = {"mean": base + 1.5, "ci_low": base + 1.2, "ci_high": base + 1.8, "images": 320}
    return {"styles": styles, "average": average}


def store(version: ModelVersion, generator: str, base: float) -> BenchmarkResult:
    return BenchmarkResult.objects.create(
        generator=generator,
        model_version=version,
        images_checksum=f"{generator:0>64}"[-64:],
        precision="fp16",
        antialias=False,
        figures=figures(base),
        bootstrap=2000,
        seed=0,
    )


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_an_empty_page_says_how_to_run_a_benchmark(researcher_user: User) -> None:
    page = logged_in(researcher_user).get(reverse("benchmarks"))
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "No benchmark result is stored yet" in html
    assert "manage.py benchmark --model-version NAME" in html
    assert "POST /api/v1/benchmarks/" in html
    assert "<svg" not in html and "benchmark-results" not in html


@pytest.mark.django_db
def test_results_show_each_style_with_its_interval_and_a_chart(
    register_tiny: Register, researcher_user: User, annotator_user: User
) -> None:
    first, second = register_tiny("hps-a"), register_tiny("hps-b", seed=1)
    store(first, "sdxl", 27.0)
    store(first, "dalle<2>", 25.0)  # a name the page must escape
    store(second, "sdxl", 28.0)
    client = logged_in(researcher_user)

    html = client.get(reverse("benchmarks")).content.decode()
    table = html[html.index('id="benchmark-results"') :]
    rows = re.findall(r"<tr>\s*<td data-label=\"generator\" data-sort-value=\"([^\"]+)\">", table)
    assert rows == ["sdxl", "sdxl", "dalle&lt;2&gt;"]  # best average first
    # sdxl under hps-b: anime 28.00 [27.75, 28.50], ..., average 29.50 [29.20, 29.80].
    assert '28.00 <span class="interval">[27.75, 28.50]</span>' in table
    assert '31.00 <span class="interval">[30.75, 31.50]</span>' in table
    assert '<strong>29.50</strong> <span class="interval">[29.20, 29.80]</span>' in table
    for style in STYLES:
        assert f'data-sort-type="number">{style}</button>' in table
    assert "fp16, antialias off" in table and "320 images" in table
    # The chart: one labelled row per result, each dot with its interval in its title.
    assert 'role="img" aria-label="Benchmark average per generator, with 95% intervals"' in html
    assert "<title>sdxl (hps-b): 29.500, 95% interval [29.200, 29.800]</title>" in html
    assert "dalle&lt;2&gt; (hps-a)" in html and "dalle<2>" not in html
    assert "average HPS v2 score (100 x cosine)" in html
    assert 'src="/static/js/benchmarks.js"' in html and "style=" not in html

    only_b = client.get(reverse("benchmarks"), {"model_version": "hps-b"}).content.decode()
    assert "hps-a)" not in only_b and "sdxl (hps-b)" in only_b
    unknown = client.get(reverse("benchmarks"), {"model_version": "nope"})
    assert unknown.status_code == HTTPStatus.OK  # an unknown name shows every version
    assert "dalle&lt;2&gt; (hps-a)" in unknown.content.decode()

    assert logged_in(annotator_user).get(reverse("benchmarks")).status_code == 403
    assert (
        reverse("benchmarks")
        in logged_in(make_user("ada", Role.ADMIN)).get(reverse("manage-models")).content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_columns_sort_in_the_browser_and_the_page_fits_a_phone(
    page_for: Any, register_tiny: Register
) -> None:
    version = register_tiny("hps-a")
    store(version, "middle", 26.0)
    store(version, "best", 30.0)
    store(version, "worst", 20.0)
    # The best generator on anime is not the best on photo: sorting by photo reorders.
    worst = BenchmarkResult.objects.get(generator="worst")
    worst.figures["styles"]["photo"]["mean"] = 99.0
    worst.save()
    researcher = make_user("rita", Role.RESEARCHER)

    page = page_for(researcher)
    page.goto(reverse("benchmarks"))
    generators = page.locator("#benchmark-results tbody tr td:first-child")
    expect(generators).to_have_text(["best", "middle", "worst"])
    photo = page.get_by_role("button", name="photo")
    photo.click()
    expect(generators).to_have_text(["worst", "best", "middle"])
    expect(page.locator("th", has=photo)).to_have_attribute("aria-sort", "descending")
    photo.click()
    expect(generators).to_have_text(["middle", "best", "worst"])
    expect(page.locator("th", has=photo)).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("button", name="generator").click()
    expect(generators).to_have_text(["worst", "middle", "best"])

    phone = page_for(researcher, phone=True)
    phone.goto(reverse("benchmarks"))
    expect(phone.locator("svg.chart")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # One card per result; the header (with its buttons) is out of sight, a list sorts.
    expect(page.get_by_label("Sort by")).to_be_hidden()
    phone.get_by_label("Sort by").select_option(label="photo, highest first")
    cards = phone.locator("#benchmark-results tbody tr td:first-child")
    expect(cards).to_have_text(["worst", "best", "middle"])
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
