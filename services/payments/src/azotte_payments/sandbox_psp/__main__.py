"""Run a sandbox PSP: `python -m azotte_payments.sandbox_psp --kind stripe_like|adyen_like|stripe|adyen --port N`."""

from __future__ import annotations

import argparse
from dataclasses import replace

import uvicorn
from starlette.types import ASGIApp

from azotte_payments.sandbox_psp import adyen_api, adyen_like, stripe_api, stripe_like
from azotte_payments.sandbox_psp.book import SandboxSettings

KINDS = ("stripe_like", "adyen_like", "stripe", "adyen")


def build_app(kind: str, settings: SandboxSettings, base_url: str) -> ASGIApp:
    """The sandbox app of the given kind, reachable at `base_url`."""
    if kind == "stripe":
        return stripe_api.create_app(base_url)
    if kind == "adyen":
        return adyen_api.create_app(base_url)
    factory = {"stripe_like": stripe_like.create_app, "adyen_like": adyen_like.create_app}[kind]
    return factory(settings)


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Azotte sandbox PSP")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=None, help="added latency per call")
    parser.add_argument("--timeout-delay-s", type=float, default=None, help="how long tok_timeout hangs")
    args = parser.parse_args()
    settings = SandboxSettings.from_env()
    if args.latency_ms is not None:
        settings = replace(settings, latency_ms=args.latency_ms)
    if args.timeout_delay_s is not None:
        settings = replace(settings, timeout_delay_s=args.timeout_delay_s)
    app = build_app(args.kind, settings, f"http://{args.host}:{args.port}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
