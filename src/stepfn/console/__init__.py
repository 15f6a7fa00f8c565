"""The web console: pages with JSON twins, the definition graph, live event streams.

``console_app(engine, token=...)`` is the Starlette application to mount under
``/console``; ``console_routes`` gives that mount with ``/`` redirecting to it;
``ChangeFeed`` is what the engine publishes committed events to.
"""

from stepfn.console.app import basic_credentials, console_app, console_routes
from stepfn.console.feed import ChangeFeed

__all__ = ["ChangeFeed", "basic_credentials", "console_app", "console_routes"]
