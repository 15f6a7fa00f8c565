"""Where the application keeps its data and sends its mail, read from the environment.

Settings are read on every call, not at import, so one process (a test, a warm Lambda
worker) follows changes to its environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The default data directory is the application's own folder, not the working directory:
# each function process may run in its own code directory, and they must share one database.
APP_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = APP_DIR / ".orders-data"


@dataclass(frozen=True)
class Settings:
    """The application's settings (see the README's table of environment variables)."""

    data_dir: Path
    db_path: Path
    smtp_host: str | None
    smtp_port: int
    mail_from: str
    support_email: str

    @property
    def maildir(self) -> Path:
        """Where mail goes when no SMTP server is configured."""
        return self.data_dir / "maildir"

    @property
    def error_log(self) -> Path:
        """The JSON-lines file of handled errors."""
        return self.data_dir / "errors.jsonl"


def settings() -> Settings:
    """The settings from the environment, with the documented defaults."""
    data_dir = Path(os.environ.get("ORDERS_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    db = os.environ.get("ORDERS_DB")
    port_text = os.environ.get("SMTP_PORT") or "25"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"SMTP_PORT must be a port number, got {port_text!r}") from None
    return Settings(
        data_dir=data_dir,
        db_path=Path(db).resolve() if db else data_dir / "orders.sqlite3",
        smtp_host=os.environ.get("SMTP_HOST") or None,
        smtp_port=port,
        mail_from=os.environ.get("ORDERS_MAIL_FROM") or "orders@example.com",
        support_email=os.environ.get("SUPPORT_EMAIL") or "support@example.com",
    )


def dollars(cents: int) -> str:
    """Cents as a dollar amount for people: 10050 -> ``"100.50"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
