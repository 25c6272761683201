"""What a newcomer meets in a real browser: the landing page, sign-up, log-out, log-in,
keyboard use, a phone-width screen, and no serious accessibility violations."""

import re

import pytest

from tests.e2e.conftest import axe_violations

PASSWORD = re.compile(r"^Password:?$")
PAGES = ["/", "/lessons/", "/accounts/login/", "/accounts/signup/", "/data-sources/", "/nope/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_serious_accessibility_violations(page, path):
    page.goto(path)

    assert axe_violations(page) == []


@pytest.mark.parametrize("path", PAGES)
def test_pages_fit_a_phone_width_screen(phone_page, path):
    phone_page.goto(path)

    overflow = phone_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px"


def test_a_newcomer_signs_up_logs_out_and_logs_back_in(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()

    page.get_by_label("Username").fill("hopper")
    page.get_by_label(PASSWORD).fill("cobol-was-1959-ok")
    page.get_by_label("Password confirmation").fill("cobol-was-1959-ok")
    page.get_by_role("button", name="Sign up").click()

    page.wait_for_url("**/lessons/")
    assert page.get_by_text("hopper").first.is_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill("hopper")
    page.get_by_label(PASSWORD).fill("cobol-was-1959-ok")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/lessons/")
    assert page.get_by_role("button", name="Log out").is_visible()


def test_sign_up_errors_are_announced_next_to_the_field(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill("hopper")
    page.get_by_label(PASSWORD).fill("cobol-was-1959-ok")
    page.get_by_label("Password confirmation").fill("something-else-entirely")
    page.get_by_role("button", name="Sign up").click()

    alert = page.get_by_role("alert").first
    assert alert.is_visible()
    assert "password" in alert.inner_text().lower()


def test_the_skip_link_is_the_first_stop_for_the_keyboard(page):
    page.goto("/")

    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_htmx_and_the_stylesheet_load_from_our_own_static_files(page):
    requests = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto("/")

    assert page.evaluate("typeof htmx") == "object"
    origin = "/".join(page.url.split("/", 3)[:3])
    assert requests
    assert [r for r in requests if not r.startswith(origin)] == []


def test_a_learner_creates_and_revokes_an_api_token_without_leaving_the_page(page, django_user_model):
    django_user_model.objects.create_user(username="lovelace", password="engine-notes-1843")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("lovelace")
    page.get_by_label(PASSWORD).fill("engine-notes-1843")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/lessons/")
    page.get_by_role("link", name="lovelace").click()

    page.get_by_label("Token name").fill("carry bot")
    page.get_by_role("button", name="Create token").click()

    token = page.get_by_label("Token", exact=True)
    token.wait_for()
    assert token.input_value().startswith("exedu_")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Revoke token carry bot").click()
    page.get_by_text("revoked").wait_for()
    assert page.url.endswith("/accounts/profile/")
