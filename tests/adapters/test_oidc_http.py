"""Fetching issuer documents: https only, no redirects, a size cap, JSON or an OSError."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.adapters.oidc_http import MAX_BYTES, HttpIssuerDocuments

ANSWERS = {
    "/ok": (200, json.dumps({"issuer": "x"}).encode()),
    "/big": (200, b"[" + b"1," * MAX_BYTES + b"1]"),
    "/html": (200, b"<html>"),
    "/broken": (500, b"{}"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    import trustme

    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/ok")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, body = ANSWERS[self.path]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", str(ca_file)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fetch(server, monkeypatch):
    url, ca_file = server
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # trust the local CA, as OpenSSL does
    documents = HttpIssuerDocuments()
    return lambda path: documents.get_json(url + path)


def test_json_is_fetched(fetch):
    assert fetch("/ok") == {"issuer": "x"}


@pytest.mark.parametrize("path", ["/big", "/html", "/broken", "/redirect"])
def test_anything_else_is_an_oserror(fetch, path):
    with pytest.raises(OSError):
        fetch(path)


def test_plain_http_is_never_fetched():
    with pytest.raises(OSError, match="non-https"):
        HttpIssuerDocuments().get_json("http://127.0.0.1:9/.well-known/openid-configuration")


def test_an_untrusted_certificate_is_refused(server):
    url, _ = server
    with pytest.raises(OSError):
        HttpIssuerDocuments().get_json(url + "/ok")


def test_a_slow_body_meets_the_deadline(server, monkeypatch):
    url, ca_file = server
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    # A deadline already past: the first chunk read ends the fetch (a dripping server would
    # otherwise keep it alive, one socket timeout at a time).
    with pytest.raises(OSError, match="took more than"):
        HttpIssuerDocuments(deadline=-1).get_json(url + "/ok")
