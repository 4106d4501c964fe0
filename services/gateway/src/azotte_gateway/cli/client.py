"""A small client of the gateway REST API for the CLI and the demo."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
KEY_FILE = "sandbox-admin.key"
SANDBOX_URLS_FILE = "sandbox-urls.json"


class ApiError(Exception):
    """An error answer of the gateway, with its uniform body."""

    def __init__(self, status_code: int, error: dict[str, Any]):
        self.status_code = status_code
        self.error = error
        super().__init__(f"{status_code} {error.get('status', '')}: {error.get('message', '')}")

    @property
    def reason(self) -> str:
        """The ErrorInfo reason, e.g. PAYMENT_DECLINED."""
        for detail in self.error.get("details", []):
            if str(detail.get("@type", "")).endswith("ErrorInfo"):
                return str(detail.get("reason", ""))
        return ""


def default_key() -> str | None:
    """AZOTTE_API_KEY, else the sandbox admin key the gateway wrote on its first start."""
    if key := os.environ.get("AZOTTE_API_KEY"):
        return key
    key_file = home() / KEY_FILE
    return key_file.read_text().strip() if key_file.exists() else None


def home() -> Path:
    """AZOTTE_HOME, where `make up` keeps the local suite's state (`.azotte` by default)."""
    return Path(os.environ.get("AZOTTE_HOME", ".azotte"))


def sandbox_urls(root: Path) -> dict[str, str]:
    """The URLs of a stack's sandbox helper servers (channel emulators, the carrier), by environment name, as the
    stack under `root` wrote them; none when it wrote none."""
    urls_file = root / SANDBOX_URLS_FILE
    return dict(json.loads(urls_file.read_text())) if urls_file.exists() else {}


def new_request_id() -> str:
    """A fresh request id, for a call made once per invocation: sending it again makes a retry safe."""
    return uuid.uuid4().hex


def _raise_for_error(answer: httpx.Response) -> None:
    if answer.status_code >= 400:
        try:
            error = answer.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"status": "UNKNOWN", "message": answer.text}
        raise ApiError(answer.status_code, error)


class GatewayClient:
    """Calls the REST API with one API key."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout, transport=transport
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        self._http.close()

    def with_key(self, key: str) -> GatewayClient:
        """The same gateway with another key."""
        return GatewayClient(self.base_url, key, timeout=self._http.timeout.read or 30.0)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call; raises ApiError on an error answer; JSON answers are decoded."""
        answer = self._http.request(method, path, **kwargs)
        _raise_for_error(answer)
        if answer.headers.get("content-type", "").startswith("application/json"):
            return answer.json()
        return answer.text

    def download(self, path: str) -> bytes:
        """GET a file (a PDF) as bytes; raises ApiError on an error answer."""
        answer = self._http.get(path)
        _raise_for_error(answer)
        return answer.content

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    def post(self, path: str, body: dict[str, Any] | None = None, *, request_id: str | None = None) -> Any:
        """A mutating call: it carries `request_id`, else a new one (the gateway requires one, never invents it)."""
        payload = {"request_id": request_id or new_request_id(), **(body or {})}
        return self.call("POST", path, json=payload)

    def apply_catalog(self, document: Path, *, dry_run: bool, request_id: str | None = None) -> dict[str, Any]:
        """PUT a catalog document (its request id in `X-Request-Id`); JSON files as JSON, anything else as YAML."""
        media = "application/json" if document.suffix == ".json" else "application/yaml"
        answer: dict[str, Any] = self.call(
            "PUT",
            "/v1/catalog",
            params={"dry_run": str(dry_run).lower()},
            content=document.read_bytes(),
            headers={"Content-Type": media, "x-request-id": request_id or new_request_id()},
        )
        return answer
