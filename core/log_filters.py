"""Log filters installed by LOGGING (config/settings/base.py)."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx answered for an exception (a 403 for PermissionDenied, a 400 for a suspicious
    request) is the client's doing, not a fault: it is logged as its one line, without the
    traceback Django attaches. 5xx records keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
