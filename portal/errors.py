"""The one exception type every feature's services raise when a rule refuses an action."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the action; ``message`` is for the user, ``field`` names the input.

    The route shows the message (on the field when named) and answers 4xx, so the request
    boundary rolls back and nothing changes.
    """

    def __init__(self, message: str, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
