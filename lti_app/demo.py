"""Run the tool on the Flask dev server for the demo (`make demo` starts it beside the Canvas
sandbox, see canvas_sandbox/demo.py; run on its own, it says how to install it in a Canvas)."""

from __future__ import annotations

import os
import signal
import threading
import time

from werkzeug.serving import WSGIRequestHandler

from lti_app import create_app

HOST = "127.0.0.1"
PORT = int(os.environ.get("PORT", "5000"))
# Set by canvas_sandbox/demo.py: the sandbox prints the one URL to open, so stay quiet.
WITH_SANDBOX = os.environ.get("MP_DEMO_WITH_SANDBOX") == "1"


class PathOnlyRequestLog(WSGIRequestHandler):
    """Canvas puts login hints and registration tokens in query strings: log the path only."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


def exit_with_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Stop when the process that started us is gone (the demo runner was killed outright),
    so no tool is left listening on its port."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> None:
    parent = os.environ.get("MP_DEMO_PARENT_PID", "")
    if parent.isdigit():
        exit_with_parent(int(parent))
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")
    app = create_app()
    base = app.extensions["mp_services"].settings.public_base_url
    if WITH_SANDBOX:
        print(f"Mastery Pathways (the tool) is listening on {base}", flush=True)
    else:
        print(
            "\nMastery Pathways is running on its own at " + base + "\n"
            "For the full demo with a local Canvas (courses, users, launches) run `make demo`.\n"
            "To install the tool in a Canvas instance:\n"
            f"  developer key JSON : {base}/lti/config.json\n"
            f"  Dynamic Registration: {base}/lti/register\n"
            f"  tool JWKS          : {base}/.well-known/jwks.json\n"
            "Stop with Ctrl+C.\n",
            flush=True,
        )
    app.run(
        host=HOST, port=PORT, debug=False, use_reloader=False, request_handler=PathOnlyRequestLog
    )


if __name__ == "__main__":
    main()
