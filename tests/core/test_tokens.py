"""Personal API tokens: created on the profile page or by a command, stored hashed, revocable."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from exchange_edu.core import services
from exchange_edu.core.models import APIToken

pytestmark = pytest.mark.django_db


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_token_authenticates_its_owner_and_is_stored_only_as_a_hash(client, learner):
    token, raw = services.api_token_create(user=learner, name="my bot")

    response = client.get("/api/v1/me", **bearer(raw))

    assert response.status_code == 200
    assert response.json() == {"username": "ada", "is_staff": False}
    assert raw not in {t.key_hash for t in APIToken.objects.all()}
    assert raw.startswith(token.prefix)
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Token abc", ""], ids=repr)
def test_a_wrong_or_missing_token_is_a_401_in_the_api_error_shape(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/api/v1/me", **extra)

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"}


def test_a_revoked_token_stops_working(client, learner):
    token, raw = services.api_token_create(user=learner, name="one-off")

    services.api_token_revoke(user=learner, token_id=token.pk)

    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401


def test_nobody_revokes_another_users_token(learner, django_user_model):
    other = django_user_model.objects.create_user(username="eve", password="x-long-password-1")
    token, _ = services.api_token_create(user=learner, name="mine")

    with pytest.raises(services.TokenError):
        services.api_token_revoke(user=other, token_id=token.pk)
    token.refresh_from_db()
    assert token.is_active


def test_the_session_also_authenticates_the_api(client, learner):
    client.force_login(learner)

    assert client.get("/api/v1/me").json()["username"] == "ada"


def test_the_profile_page_creates_a_token_shown_once_and_revokes_it(client, learner):
    client.force_login(learner)

    response = client.post("/accounts/profile/", {"action": "create", "name": "carry bot"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="api-tokens"')  # only the partial
    raw = html.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    script = Client()  # a script has no session: only the token
    assert script.get("/api/v1/me", **bearer(raw)).status_code == 200
    assert raw not in client.get("/accounts/profile/").content.decode()  # shown only once

    token = APIToken.objects.get(user=learner)
    client.post("/accounts/profile/", {"action": "revoke", "token_id": token.pk}, HTTP_HX_REQUEST="true")
    assert script.get("/api/v1/me", **bearer(raw)).status_code == 401


def test_a_token_without_a_name_is_a_form_error(client, learner):
    client.force_login(learner)

    response = client.post("/accounts/profile/", {"action": "create", "name": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not APIToken.objects.exists()


def test_the_profile_page_needs_a_login(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_create_api_token_command_prints_only_the_token_last(learner, client):
    out = io.StringIO()

    call_command("create_api_token", "ada", stdout=out)

    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("exedu_")
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 200


def test_create_api_token_command_names_an_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_api_token", "ghost")
