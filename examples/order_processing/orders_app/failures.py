"""The failure a HandleErrors branch is given: which execution, which state, what error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Failure:
    """A step's failure, as the state machine passes it to NotifySupport and LogError."""

    execution_arn: str | None
    order_id: str | None
    state: str
    error: str
    cause: str

    @classmethod
    def from_event(cls, event: Any) -> Failure:
        """Read the event; missing facts become ``"unknown"`` rather than a second failure."""
        data = event if isinstance(event, dict) else {}

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            execution_arn=text("execution_arn"),
            order_id=text("order_id"),
            state=text("state") or "unknown",
            error=text("error") or "unknown",
            cause=text("cause") or "",
        )

    def as_dict(self) -> dict[str, Any]:
        """The facts as a JSON object (the log line, the function's result)."""
        return {
            "execution_arn": self.execution_arn,
            "order_id": self.order_id,
            "state": self.state,
            "error": self.error,
            "cause": self.cause,
        }
