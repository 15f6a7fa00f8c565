"""The errors the Python functions raise, named as the state machine's Retry and Catch name them.

Step Functions names a Python function's failure after the exception's class, so the class
names here are part of the state machine's contract.
"""

from __future__ import annotations


class MailServerUnavailable(Exception):
    """The SMTP server refused or dropped the connection; the state machine retries."""


class DatabaseBusy(Exception):
    """The orders database stayed locked past the busy timeout; the state machine retries."""


class OrderNotFound(Exception):
    """A step was given an order id the database does not know."""
