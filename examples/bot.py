"""A tiny market maker for an exchange-edu sandbox, driven through the JSON API with a token.

Each round it reads the ticker, cancels its resting orders and quotes a bid and an ask `spread`
either side of the mark, leaning the quotes against its inventory so it does not drift into a
big position. Then it prints its equity. Standard library only.

    export EXEDU_TOKEN=exedu_...            # from your profile page
    python examples/bot.py --url http://127.0.0.1:8000 --rounds 30
    python examples/bot.py --sandbox 12 --spread 0.002 --size 50

Without --sandbox it creates a v1 sandbox of yours (with a crowd of bots to trade against).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_UP, Decimal

# (method, url, headers, body bytes or None) -> (status, headers, body bytes)
Transport = Callable[[str, str, dict, "bytes | None"], tuple[int, dict, bytes]]


def urllib_transport(method: str, url: str, headers: dict, body: bytes | None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Api:
    """/api/v1 with a bearer token; waits and retries once when the order rate limit answers 429."""

    def __init__(self, base_url: str, token: str, transport: Transport = urllib_transport) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.transport = transport

    def call(self, method: str, path: str, body: dict | None = None) -> dict | list:
        data = json.dumps(body).encode() if body is not None else None
        for _ in range(2):
            status, headers, raw = self.transport(method, self.base + path, self.headers, data)
            if status != 429:
                break
            time.sleep(int(headers.get("Retry-After", "1")))
        payload = json.loads(raw or b"null")
        if status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {payload}")
        return payload


def round_to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).quantize(Decimal(1), rounding=rounding) * tick


def one_round(api: Api, sandbox: int, symbol: str, tick: Decimal, spread: Decimal, size: Decimal) -> dict:
    """Cancel, re-quote around the mark (skewed by inventory), return the account."""
    base = f"/sandboxes/{sandbox}"
    for order in api.call("GET", f"{base}/orders?status=open&symbol={symbol}")["items"]:
        api.call("DELETE", f"{base}/orders/{order['id']}")
    mark = Decimal(api.call("GET", f"{base}/markets/{symbol}/ticker")["mark_price"])
    position = next((p for p in api.call("GET", f"{base}/positions") if p["symbol"] == symbol), None)
    inventory = Decimal(position["size"]) if position else Decimal(0)
    skew = -inventory / (size * 10) * spread  # long -> quote lower, to sell more than buy
    bid = round_to_tick(mark * (1 - spread + skew), tick, ROUND_DOWN)
    ask = round_to_tick(mark * (1 + spread + skew), tick, ROUND_UP)
    for side, price in (("buy", bid), ("sell", ask)):
        api.call("POST", f"{base}/orders", {"symbol": symbol, "side": side, "type": "limit",
                                             "quantity": str(size), "price": str(price), "time_in_force": "post_only"})
    return api.call("GET", f"{base}/account")


def main(argv: list[str] | None = None, transport: Transport = urllib_transport) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", default=os.environ.get("EXEDU_TOKEN"), help="or set EXEDU_TOKEN")
    parser.add_argument("--sandbox", type=int, help="a sandbox id of yours (default: create one)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")
    parser.add_argument("--spread", type=Decimal, default=Decimal("0.001"), help="fraction of the mark")
    parser.add_argument("--size", type=Decimal, default=Decimal(100), help="contracts per quote")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is needed: --token or EXEDU_TOKEN (create one on your profile page)")
    api = Api(args.url, args.token, transport)
    sandbox = args.sandbox or api.call("POST", "/sandboxes", {"preset": "v1", "bots": 10, "name": "bot.py"})["id"]
    market = api.call("GET", f"/sandboxes/{sandbox}/markets")[0]
    symbol, tick = market["symbol"], Decimal(market["tick_size"])
    print(f"sandbox {sandbox}: quoting {symbol} {args.size} contracts, {args.spread:%} either side of the mark")
    for n in range(args.rounds):
        account = one_round(api, sandbox, symbol, tick, args.spread, args.size)
        margin = account["margin"][0]
        positions = {p["symbol"]: p["size"] for p in account["positions"]}
        print(f"round {n + 1}: equity {margin['equity']} {margin['asset']}, position {positions.get(symbol, '0')}")
        if n + 1 < args.rounds:
            time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
