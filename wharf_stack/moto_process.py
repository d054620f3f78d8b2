"""moto for the local stack, in a process of its own.

In the stack's own process moto shared one interpreter lock with the app: every AWS call
the app made waited for moto's Python to answer it, and an install's downloads, a large
upload's parts and the app's requests all took turns on one core. Here moto gets its own
interpreter (the machine's other core), as AWS is elsewhere for a deployed wharf.

    python -m wharf_stack.moto_process HOST PORT

Prints ``moto listening on HOST:PORT`` once it serves, then serves until its standard
input closes: the stack holds the other end, so however the stack ends (Ctrl-C, a
signal, a crash), moto ends with it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any


def _moto_server(host: str, port: int) -> Any:
    """moto's threaded server, with presigned URLs that expire as on S3 and ranged GETs
    that read only their range."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from .moto_fidelity import presigned_expiry
    from .moto_storage import ranged_reads

    class Server(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = ranged_reads(presigned_expiry(DomainDispatcherApplication(create_backend_app)))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address=host, port=port, verbose=False)


def main(argv: list[str] | None = None) -> int:
    host, port = (argv or sys.argv[1:])[:2]
    # moto's per-request access lines would drown the app's own log.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from . import moto_fidelity, moto_speed, moto_storage

    moto_fidelity.apply()
    moto_speed.apply()
    moto_storage.apply()

    server = _moto_server(host, int(port))
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    print(f"moto listening on {bound_host}:{bound_port}", flush=True)
    os.dup2(2, 1)  # anything moto prints later goes to the stack's log, not the pipe
    while sys.stdin.buffer.read(4096):
        pass  # nothing is ever sent: end of input means the stack has gone
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
