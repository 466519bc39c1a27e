"""Security and operations settings shared by every environment (imported by base.py).

Content-Security-Policy (django-csp), login lockout (django-axes) and the health check.
Production-only transport settings (HTTPS cookies, HSTS) are in production.py.
"""

from datetime import timedelta

import environ
from csp.constants import NONE, SELF

env = environ.Env()

# --- Content-Security-Policy on every response. No inline script or style anywhere: pages
# load their JS and CSS from static/ and pass data in data-* attributes or
# <script type="application/json"> blocks (which browsers never execute). Charts are SVG
# with presentation attributes (fill=, stroke=), which CSP does not govern. img-src allows
# data: for the icons Swagger UI (/api/docs/) and the admin embed as data: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"

# --- login failures: django-axes counts them in the database (AxesDatabaseHandler) and,
# after AXES_FAILURE_LIMIT wrong passwords for one username, refuses that account's logins
# (with the right password too) until the cool-off has passed or an admin resets it
# (`manage.py axes_reset_username NAME`, or the admin's Access attempts page).
AUTHENTICATION_BACKENDS = [
    "core.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
# One counter per (username, client address): a guesser is stopped, and a stranger cannot
# lock a colleague out from another address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Lockouts are logged; the start-up banner and every attempt at INFO are not.
AXES_VERBOSE = False


# --- the client's address, for login lockout (django-axes) and the anonymous API
# throttle (DRF's NUM_PROXIES, set in base.py): X-Forwarded-For is read only behind
# TRUSTED_PROXY_COUNT proxies, and then only the entry the nearest trusted proxy added,
# so a client cannot pick its own address by sending the header.
def client_address_settings(proxies: int) -> dict[str, object]:
    """The axes settings that find the client's address behind `proxies` proxies."""
    return {
        "AXES_IPWARE_PROXY_COUNT": proxies,
        "AXES_IPWARE_META_PRECEDENCE_ORDER": (
            ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if proxies else ("REMOTE_ADDR",)
        ),
    }


TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
globals().update(client_address_settings(TRUSTED_PROXY_COUNT))

# --- GET /healthz: how long it waits for a Celery worker to answer a ping.
HEALTH_WORKER_PING_TIMEOUT = env.float("HEALTH_WORKER_PING_TIMEOUT", default=1.0)

# --- logs: Celery workers keep Django's LOGGING (request ids, JSON in production) instead
# of installing their own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
