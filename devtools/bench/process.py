"""The benchmark's process set up as an Airflow worker's for a block: environment variables (its connections)
set and put back, and the log levels of the product's loggers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager


@contextmanager
def log_level(names: Sequence[str], level: int) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, previous in zip(loggers, saved, strict=True):
            logger.setLevel(previous)


@contextmanager
def environment_variables(values: Mapping[str, str], remove: Sequence[str] = ()) -> Iterator[None]:
    """Set (and remove) environment variables of this process for the block, then put back what was there."""
    keys = [*values, *remove]
    saved = {key: os.environ.get(key) for key in keys}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
