"""Logging filters named in settings.LOGGING."""

import logging


class ExpectedRefusalFilter(logging.Filter):
    """A 403 is an answer, not a fault: keep its one line ("Forbidden (Permission denied): /setup/"),
    drop the traceback Django attaches to it, so the log shows real errors with theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
