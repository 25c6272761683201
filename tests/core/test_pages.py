"""The landing page, sign-up, log-in, log-out, attribution and error pages."""

import pytest
from django.contrib.auth import get_user_model
from django.utils.html import escape

from lessons.catalog import lesson_list

pytestmark = pytest.mark.django_db


def test_landing_page_says_what_the_product_is_and_lists_the_lessons(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    for lesson in lesson_list():
        assert escape(lesson.title) in html
    assert 'href="/lessons/' in html
    assert 'href="/accounts/signup/"' in html


def test_lessons_page_lists_every_lesson_with_its_anchor(client):
    html = client.get("/lessons/").content.decode()

    for lesson in lesson_list():
        assert f'id="lesson-{lesson.slug}"' in html
        assert escape(lesson.what_you_do) in html


def test_signup_creates_the_user_and_logs_them_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "grace", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/lessons/"
    assert get_user_model().objects.filter(username="grace").exists()
    assert "grace" in client.get("/lessons/").content.decode()


def test_signup_with_mismatched_passwords_shows_a_form_error_and_creates_nobody(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "grace", "password1": "a-long-pass-phrase-9", "password2": "different-9"},
    )

    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert 'role="alert"' in response.content.decode()
    assert not get_user_model().objects.filter(username="grace").exists()


def test_login_then_logout(client, learner):
    response = client.post("/accounts/login/", {"username": "ada", "password": "correct-horse-42"})
    assert response.status_code == 302

    assert "ada" in client.get("/").content.decode()
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user.is_anonymous


def test_login_with_a_wrong_password_is_a_form_error(client, learner):
    response = client.post("/accounts/login/", {"username": "ada", "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_attribution_page_names_every_shipped_data_file_and_its_licence(client):
    from exchange_edu.core.datasources import SOURCES

    html = client.get("/data-sources/").content.decode()

    for source in SOURCES:
        assert source.file in html
        assert source.path.exists(), source.file
    assert "CC BY-SA 4.0" in html
    assert "Zielak (mczielinski), Bitcoin Historical Data, Kaggle" in html


def test_unknown_page_answers_404_in_the_site_style(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert 'href="/lessons/"' in response.content.decode()


def test_server_error_page_renders_without_a_request_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "exchange-edu" in html


def test_lessons_page_says_what_works_today_while_lesson_pages_are_unwritten(client):
    html = client.get("/lessons/").content.decode()

    assert "What works today." in html
    assert 'href="/api/v1/docs"' in html
    assert 'href="/accounts/signup/"' in html
