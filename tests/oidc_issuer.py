"""A test OIDC issuer: its own RSA keys, a discovery document and a JWKS, tokens with
GitHub Actions' or GitLab CI's claims, and (for the end-to-end tests) a real HTTPS server
that serves those documents and stands in for GitHub's ID-token endpoint."""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

OWNER_ID = "4242"
REPOSITORY = "acme/tools"
WORKFLOW = "release.yml"


@dataclass
class TestIssuer:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    url: str
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.url, "jwks_uri": self.url + "/jwks"}

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    def documents(self) -> dict[str, Any]:
        return {
            self.url + "/.well-known/openid-configuration": self.discovery(),
            self.url + "/jwks": self.jwks(),
        }

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        key = key or self.key
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid}
        return jwt.encode(header, claims, key)

    def github_claims(self, now: int, audience: str, **overrides: Any) -> dict[str, Any]:
        repository = overrides.pop("repository", REPOSITORY)
        workflow = overrides.pop("workflow", WORKFLOW)
        ref = overrides.pop("ref", "refs/tags/v1.0")
        claims = {
            "iss": self.url,
            "aud": audience,
            "sub": f"repo:{repository}:ref:{ref}",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_hex(16),
            "repository": repository,
            "repository_owner": repository.split("/")[0],
            "repository_owner_id": OWNER_ID,
            "job_workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
            "workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
            "ref": ref,
            "sha": "a" * 40,
            "event_name": "push",
            "run_id": "123456",
            "run_attempt": "1",
            "actor": "octocat",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def gitlab_claims(self, now: int, audience: str, **overrides: Any) -> dict[str, Any]:
        project = overrides.pop("project_path", "acme/tools")
        config = overrides.pop("config", ".gitlab-ci.yml")
        ref_path = "refs/tags/v1.0"
        claims = {
            "iss": self.url,
            "aud": audience,
            "sub": f"project_path:{project}:ref_type:tag:ref:v1.0",
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(16),
            "project_path": project,
            "ci_config_ref_uri": f"{urlsplit(self.url).netloc}/{project}//{config}@{ref_path}",
            "ref_path": ref_path,
            "sha": "b" * 40,
            "pipeline_id": "777",
            "job_id": "888",
            "user_login": "alice",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}


class IssuerServer:
    """The issuer over HTTPS on localhost, with GitHub's ID-token endpoint beside it:
    ``GET /github-token?audience=<aud>`` with ``Authorization: bearer <request token>``
    answers ``{"value": <jwt>}`` (the ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN pair)."""

    def __init__(self, cert: Any, claims_for: Any) -> None:
        self.request_token = secrets.token_hex(16)
        self.claims_for = claims_for  # (issuer, audience) -> claims for the next token
        self.handed_out: list[str] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.issuer = TestIssuer(f"https://127.0.0.1:{server.server_address[1]}")
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    @property
    def token_url(self) -> str:
        return self.issuer.url + "/github-token?api-version=2.0"

    def __enter__(self) -> IssuerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                documents = {urlsplit(u).path: d for u, d in outer.issuer.documents().items()}
                if parts.path in documents:
                    return self._send(200, documents[parts.path])
                if parts.path == "/github-token":
                    expected = f"bearer {outer.request_token}"
                    if (self.headers.get("Authorization") or "").lower() != expected:
                        return self._send(401, {"message": "bad request token"})
                    audience = parse_qs(parts.query).get("audience", [""])[0]
                    token = outer.issuer.sign(outer.claims_for(outer.issuer, audience))
                    outer.handed_out.append(token)
                    return self._send(200, {"count": 1, "value": token})
                return self._send(404, {"message": "not found"})

        return Handler
