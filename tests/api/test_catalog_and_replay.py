"""/api/v1/presets, /sources (public) and /replay (the comparison, bounded)."""

import json
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


def test_presets_list_the_runnable_rulesets_with_parameters(client):
    presets = {p["name"]: p for p in client.get("/api/v1/presets").json()}

    assert {"v0", "v1"} <= set(presets)
    v1 = presets["v1"]
    assert (v1["contract_kind"], v1["settlement_asset"], v1["max_leverage"]) == ("inverse", "BTC", "100")
    assert v1["parameters"]["fees"]["taker_rate"] == "0.00075"
    assert v1["has_lending_pool"] is False


def test_sources_carry_their_attribution(client):
    sources = {s["name"]: s for s in client.get("/api/v1/sources").json()}

    assert sources["synthetic"]["start"] is None
    daily = sources["history:btc-daily"]
    assert "CC BY-SA 4.0" in daily["licence"]
    assert "Zielak" in daily["attribution"]
    assert daily["start"] == "2014-01-02T00:00:00Z"


def replay(client, auth, body):
    return client.post("/api/v1/replay", data=json.dumps(body), content_type="application/json", **auth)


def test_replay_an_explicit_path_through_two_presets(client, auth):
    # a 10x long through a 20% fall: liquidated on both, the inverse v0 at the last price it trades
    prices = [10000 - 200 * n for n in range(11)]

    data = replay(client, auth, {"presets": ["v0", "v1"], "path": {"prices": prices, "step_seconds": 3600},
                                 "position": {"side": "long", "notional_usd": 10000, "leverage": 10}}).json()

    assert data["steps"] == 11
    runs = {r["preset"]: r for r in data["runs"]}
    assert set(runs) == {"v0", "v1"}
    for run in runs.values():
        assert run["settlement_asset"] == "BTC"
        assert len(run["rows"]) == 10
        assert run["rows"][0]["time"] == "2024-01-01T01:00:00Z"
        assert run["liquidated_at"] is not None
        assert "liquidation" in {e["kind"] for e in run["events"]}
        assert Decimal(run["final_equity"]) < Decimal("0.2")  # deposit 2 x IM = 0.2 BTC, the margin is gone


def test_replay_a_source_path(client, auth):
    data = replay(client, auth, {"presets": ["v1"], "path": {"source": "synthetic", "seed": 3, "steps": 50},
                                 "position": {"side": "short", "notional_usd": "5000", "leverage": "5"}}).json()

    assert data["steps"] == 50
    assert len(data["runs"][0]["rows"]) == 49


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"presets": ["v0", "v1", "v2", "v3", "v0"]}, 422, "presets"),
    ({"presets": []}, 422, "presets"),
    ({"presets": ["v9"]}, 400, "presets"),
    ({"presets": ["v0"], "position": {"side": "long", "notional_usd": 1000, "leverage": 50}}, 400,
     "position.leverage"),  # v0 offers 10x or 20x
    ({"path": {"prices": [1, 2] * 1001}}, 422, "path.prices"),
    ({"path": {"prices": [10000, "NaN"]}}, 422, "path.prices.1"),
    ({"path": {"prices": [10000, "0.0000001"]}}, 400, "path.prices"),
    ({"path": {"source": "synthetic", "steps": 5000}}, 422, "path.steps"),
    ({"path": {"source": "nope"}}, 400, "path.source"),
    ({"path": {}}, 400, "path"),
    ({"path": {"source": "history:btc-2017-12-17", "step_seconds": 3600}}, 400, "path.step_seconds"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_replay_input_names_the_field(client, auth, body, status, field):
    full = {"presets": ["v1"], "position": {"side": "long", "notional_usd": 1000, "leverage": 10},
            "path": {"prices": [10000, 9900]}} | body

    response = replay(client, auth, full)

    assert response.status_code == status, response.content
    assert field in [e["field"] for e in response.json()["errors"]]


def test_replay_needs_a_token(client):
    response = client.post("/api/v1/replay", data="{}", content_type="application/json")

    assert response.status_code == 401
