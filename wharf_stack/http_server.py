"""chalice local's HTTP server, with the fixes a local index needs to behave like API Gateway.

- ``TCP_NODELAY``: the handler writes the status and headers and then the body in two
  sends; with Nagle's algorithm and delayed ACKs every response on a kept-alive
  connection (pip, uv) stalled about 40 ms.
- ``HEAD`` answers carry no body (HTTP forbids one; chalice local sent the GET body,
  which corrupts the next response on the connection) and keep the ``Content-Length``
  the app computed for the GET answer.
- One gateway (route table) per server, not one built for every request.
- No access log on stderr: it printed full session URLs, whose token is the stage
  URL's only credential; the app logs every request itself, by route.
"""

from __future__ import annotations

from typing import Any

from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
)


class WharfRequestHandler(ChaliceRequestHandler):
    disable_nagle_algorithm = True
    _gateways: dict[int, LocalGateway] = {}

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
    ) -> None:
        gateway = self._gateways.get(id(app_object))
        if gateway is None:
            gateway = self._gateways.setdefault(id(app_object), LocalGateway(app_object, config))
        self.local_gateway = gateway
        # Skip ChaliceRequestHandler.__init__, which builds a new gateway per request.
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def _send_http_response_with_body(self, code: int, headers: Any, body: Any) -> None:
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        self.send_response(code)
        headers.setdefault("Content-Length", "0")
        headers.setdefault("Content-Type", "application/json")
        self._send_headers(headers)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


def local_server(app: Any, config: Any, host: str, port: int) -> LocalDevServer:
    """``chalice.local.create_local_server`` with wharf's handler."""
    # As create_local_server does: a thread-local current_request for the threaded server.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=WharfRequestHandler)
