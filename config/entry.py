"""Which settings module an entry point (manage.py, WSGI, ASGI, Celery) starts with.

Outside an image the local settings are the default, for `make run` and a developer's
shell. A production image (the Dockerfiles set HPD_IMAGE=production) never falls back
on them: the local settings turn DEBUG on and use a public secret key, which also keys
the annotator pseudonyms in exports. There an entry point refuses to start unless
DJANGO_SETTINGS_MODULE names settings other than the local or test ones.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

LOCAL_SETTINGS = "config.settings.local"
UNSAFE_IN_IMAGES = {"config.settings.local", "config.settings.test"}


class UnsafeSettings(SystemExit):
    """Raised by an entry point that would start with unsafe settings; exits with the
    message (status 1)."""


def choose_settings(environ: MutableMapping[str, str] | None = None) -> str:
    """Set DJANGO_SETTINGS_MODULE in `environ` (os.environ by default) when it is safe to
    default it, and return it; raise UnsafeSettings in a production image without
    explicit production settings."""
    environ = os.environ if environ is None else environ
    module = environ.get("DJANGO_SETTINGS_MODULE", "").strip()
    in_image = environ.get("HPD_IMAGE", "").strip() == "production"
    if in_image and (not module or module in UNSAFE_IN_IMAGES):
        found = f"DJANGO_SETTINGS_MODULE={module}" if module else "no DJANGO_SETTINGS_MODULE"
        raise UnsafeSettings(
            f"Refusing to start a production image with {found}: set "
            "DJANGO_SETTINGS_MODULE=config.settings.production and DJANGO_SECRET_KEY "
            "(see docker/README.md); the local settings run with DEBUG on and a public "
            "secret key."
        )
    if not module:
        environ["DJANGO_SETTINGS_MODULE"] = module = LOCAL_SETTINGS
    return module
