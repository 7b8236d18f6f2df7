"""The digest email in a real browser engine, so a person can look at it: Debian's Chromium
driven by Playwright renders the HTML part at desktop-client and phone width.

Screenshots go to test-artifacts/ (ignored by git): digest-600.png, digest-375.png and
digest-600-dark.png (the dark-mode media query, as Apple Mail applies it), and the digest
in light and dark at a phone's and a wide window's width: digest-375.png,
digest-375-dark.png, digest-800.png and digest-800-dark.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from digest.mailing.rendering import render_email
from tests.browser.chromium import ARTIFACTS, chromium
from tests.digest.mailing.test_digest_email import digest_context


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def digest() -> tuple[dict[str, object], str]:
    context = digest_context(10)
    return context, render_email("digest", context).html


def titles(context: dict[str, Any]) -> list[str]:
    return [p["title"] for p in context["papers"]]


def test_the_digest_at_email_client_width(browser, digest):
    context, html = digest
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 600, "height": 900})
    page.set_content(html)

    for title in titles(context):
        expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "digest-600.png"), full_page=True)
    page.close()

    assert (ARTIFACTS / "digest-600.png").stat().st_size > 10_000


def test_the_digest_on_a_phone_fits_the_screen(browser, digest):
    context, html = digest
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.set_content(html)

    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    for title in titles(context):
        link = page.get_by_role("link", name=title, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375 + 1
    page.screenshot(path=str(ARTIFACTS / "digest-375.png"), full_page=True)
    page.close()

    assert (ARTIFACTS / "digest-375.png").stat().st_size > 10_000


def test_the_digest_in_dark_mode_turns_the_card_dark(browser, digest):
    context, html = digest
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 600, "height": 900}, color_scheme="dark")
    page.set_content(html)

    card = page.locator("table.card").evaluate("e => getComputedStyle(e).backgroundColor")
    assert card == "rgb(22, 27, 34)"
    expect(page.get_by_role("link", name=titles(context)[0], exact=True)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "digest-600-dark.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(("width", "scheme"), [(375, "dark"), (800, "light"), (800, "dark")])
def test_the_digest_in_light_and_dark_at_phone_and_wide_widths(browser, digest, width, scheme):
    context, html = digest
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"digest-{width}{'-dark' if scheme == 'dark' else ''}.png"
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.set_content(html)

    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    card = page.locator("table.card")
    background = card.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == ("rgb(22, 27, 34)" if scheme == "dark" else "rgb(255, 255, 255)")
    box = card.bounding_box()
    assert box is not None
    if width > 620:  # the card keeps its 600 px, centred
        assert box["width"] == pytest.approx(600, abs=2)
        assert box["x"] == pytest.approx((width - 600) / 2, abs=2)
    else:
        assert box["width"] == pytest.approx(width, abs=2)
    expect(page.get_by_role("link", name=titles(context)[0], exact=True)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.close()

    assert (ARTIFACTS / name).stat().st_size > 10_000
