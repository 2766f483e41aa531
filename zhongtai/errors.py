"""The one exception type a user can cause, and how the CLI shows it."""

from __future__ import annotations


class ZhongtaiError(Exception):
    """A problem the user can fix: bad input, bad configuration, unknown feed.

    The message says what went wrong and what to do; the CLI prints it on one
    line without a traceback and exits non-zero.
    """


class ContractError(ZhongtaiError):
    """A data contract is missing, invalid, or a delivery does not honour it."""


class ConfigError(ZhongtaiError):
    """A setting is missing or malformed."""
