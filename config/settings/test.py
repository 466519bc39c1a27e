"""Test settings, used by `make test` (pytest): fast password hashing, no debug."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("DJANGO_DEBUG", "false")
# The whole suite calls the API from one address; throttling tests set their own rates.
os.environ.setdefault("API_THROTTLE_ANON", "100000/min")
os.environ.setdefault("API_THROTTLE_USER", "100000/min")
os.environ.setdefault("API_THROTTLE_ANNOTATE", "100000/min")
os.environ.setdefault("API_THROTTLE_COMPUTE", "100000/min")
os.environ.setdefault("PAGE_THROTTLE_COMPUTE", "100000/min")

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
