"""`make demo`: run the tool locally for a first look.

Until the local Canvas sandbox lands, this starts the tool alone and says how to install it
in a Canvas (developer key JSON URL or Dynamic Registration URL).
"""

from __future__ import annotations

import os

from werkzeug.serving import WSGIRequestHandler

from lti_app import create_app

HOST = "127.0.0.1"
PORT = int(os.environ.get("PORT", "5000"))


class PathOnlyRequestLog(WSGIRequestHandler):
    """Canvas puts login hints and registration tokens in query strings: log the path only."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


def main() -> None:
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")
    app = create_app()
    base = app.extensions["mp_services"].settings.public_base_url
    print(
        "\nMastery Pathways is running on its own at " + base + "\n"
        "The local Canvas sandbox is not part of this build yet, so there is no course to\n"
        "launch from. To install the tool in a Canvas instance:\n"
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
