"""gunicorn settings for Mastery Pathways.

    gunicorn -c config/gunicorn.conf.py 'lti_app:create_app()'

Every value can be changed from the environment (shown beside it) or on the command line, which
wins over this file. The app's own settings (APP_ENV, DATABASE_URL, PUBLIC_BASE_URL, ...) are
read by lti_app.settings, not here.
"""

from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning in containers
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# Where to listen: GUNICORN_BIND, else HOST:PORT (PORT as set by most PaaS), else loopback
# only; a reverse proxy (TLS) sits in front in production.
bind = [
    os.environ.get("GUNICORN_BIND")
    or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
]

# Processes x threads. A launch is mostly CPU (RS256 verify, templates, SQL) with short
# waits on the database, so two processes per core with a few threads each keeps the cores
# busy without a deep queue per worker. WEB_CONCURRENCY is the conventional override.
workers = _env_int("GUNICORN_WORKERS", _env_int("WEB_CONCURRENCY", 2 * _cores()))
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)

# A request stuck for 30 s is killed (Canvas gives up on a launch well before that); a
# graceful restart lets in-flight launches finish. Keep-alive matches a proxy's pool.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
backlog = 2048

# Recycle workers now and then so slow leaks cannot grow without bound; the jitter keeps
# them from restarting together.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = max_requests // 10

# Small request limits: Canvas's login and launch POSTs are far below these.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# The heartbeat file on tmpfs, so a slow disk cannot make workers look dead (gunicorn makes
# it with mkstemp and unlinks it at once).
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    _SHM if os.path.isdir(_SHM) else None
)

# Trust X-Forwarded-* only from the proxy (the app's PROXY_FIX_HOPS does the rest).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs: errors to stderr; the access log ("-" = stdout, a path, or unset for none) carries
# the path only, never the query string or the Referer, which can hold login hints and
# tokens. %(L)s is the request time in seconds.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s "%(a)s"'

# gunicorn's runtime control socket is off unless a path is given (its default path is shared
# by every gunicorn of the same user).
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
control_socket_disable = not _control_socket

proc_name = "mastery-pathways"
