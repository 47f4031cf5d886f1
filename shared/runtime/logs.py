"""Logs a person can read: one line when something changes state, not one per retry; JSON when asked.

An idle system says nothing. When the database or NATS goes away, each
background role says so once, and once more when it works again; leadership
gained and lost is one line each. ``COPRO_LOG_FORMAT=json`` writes one JSON
object a line (with the request id on request lines) for log collectors.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any


class Condition:
    """Whether one part is working: logs the change to failing (with why) and the return to working."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.trouble: str | None = None

    def failing(self, reason: str, exc: BaseException | None = None, level: int = logging.WARNING) -> None:
        """Say so the first time; later failures of the same kind are the same state, said already."""
        if reason != self.trouble:
            detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
            self.logger.log(level, "%s: %s%s", self.what, reason, detail)
            self.trouble = reason

    def working(self) -> None:
        if self.trouble is not None:
            self.logger.info("%s: working again", self.what)
            self.trouble = None


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and any ``extra`` such as ``request_id``."""

    STANDARD = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        line.update({k: v for k, v in vars(record).items() if k not in self.STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_config(level: str) -> dict[str, Any]:
    """A ``logging.config`` dictionary for a service process (uvicorn's ``log_config``)."""
    as_json = os.environ.get("COPRO_LOG_FORMAT", "text").lower() == "json"
    formatter = {"()": f"{__name__}.JsonLines"} if as_json else {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%H:%M:%S"}
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {"uvicorn": {"level": level.upper()}, "uvicorn.access": {"level": "WARNING"}},
    }
