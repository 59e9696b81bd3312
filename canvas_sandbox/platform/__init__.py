"""Canvas as an LTI 1.3 platform, plus the pages people click through (docs/canvas.md §4.8, §5, §7).

``register(app)`` is called by ``canvas_sandbox.app.create_sandbox``; it adds the platform
endpoints (OIDC authorization, JWKS, Dynamic Registration, Platform Storage frame, OAuth2
approve page) and the Canvas-like UI (user switcher, courses, accounts, developer keys).
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from canvas_sandbox.platform import views
    from canvas_sandbox.ui import views as ui_views

    app.register_blueprint(views.bp)
    app.register_blueprint(ui_views.bp)
