"""What every service of the Engine is given: the store, the clock, ids, where it runs.

Services receive this explicitly and name any other service they call in their own
constructor, so each can be built and tested alone and mypy checks what they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepfn.arns import ArnBuilder
from stepfn.clock import Clock, IdSource
from stepfn.durable.models import ModelCache
from stepfn.store.base import Store


@dataclass(frozen=True)
class ServiceContext:
    """The shared, read-only dependencies of the Engine's services."""

    store: Store
    clock: Clock
    ids: IdSource
    region: str = "us-east-1"
    account: str = "123456789012"
    # One cache of parsed definitions for the whole engine: the worker, map runs and the
    # execution reads parse the same texts.
    models: ModelCache = field(default_factory=lambda: ModelCache())

    @property
    def arns(self) -> ArnBuilder:
        """ARNs of this region and account."""
        return ArnBuilder(self.region, self.account)
