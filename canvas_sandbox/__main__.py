"""``python -m canvas_sandbox serve --port 8100`` / ``python -m canvas_sandbox reset --url ...``."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request

from werkzeug.serving import run_simple

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m canvas_sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox (seeded demo district)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8100)
    serve.add_argument("--base-url", help="public base URL (default http://localhost:PORT)")
    reset = sub.add_parser("reset", help="re-seed a running sandbox")
    reset.add_argument("--url", default="http://127.0.0.1:8100")
    args = parser.parse_args(argv)

    if args.command == "serve":
        config = SandboxConfig.from_env()
        config.base_url = args.base_url or f"http://localhost:{args.port}"
        app = create_sandbox(config)
        print(f"canvas_sandbox on {config.base_url} (listening on {args.host}:{args.port})")
        run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
        return 0
    url = args.url.rstrip("/") + "/_sandbox/reset"
    if not url.startswith(("http://", "https://")):
        parser.error("--url must be http(s)")
    request = urllib.request.Request(url, method="POST", data=b"")  # noqa: S310 - checked above
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
        body = json.load(resp)
    print(json.dumps({"reset": body.get("reset", False)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
