"""examples/bot.py runs against the API (through Django's test client) and quotes both sides."""

import importlib.util
from pathlib import Path

import pytest

from exchange_edu.sandbox import models

pytestmark = pytest.mark.django_db

BOT = Path(__file__).resolve().parents[2] / "examples" / "bot.py"


def load_bot():
    spec = importlib.util.spec_from_file_location("example_bot", BOT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_market_maker_places_and_replaces_quotes(client, token, capsys):
    bot = load_bot()

    def transport(method, url, headers, body):
        path = url.removeprefix("http://testserver")
        response = client.generic(method, path, data=body or b"", content_type="application/json",
                                  HTTP_AUTHORIZATION=headers["Authorization"])
        return response.status_code, dict(response.headers), response.content

    code = bot.main(["--url", "http://testserver", "--token", token, "--rounds", "3", "--interval", "0"],
                    transport=transport)

    assert code == 0
    sb = models.Sandbox.objects.get()
    mine = models.Order.objects.filter(sandbox=sb, account__user__isnull=False)
    assert mine.count() == 6  # a bid and an ask per round
    assert mine.filter(status="open").count() == 2  # the older quotes were cancelled
    assert set(mine.values_list("side", flat=True)) == {"buy", "sell"}
    assert "round 3: equity" in capsys.readouterr().out
