"""Built models of definition texts, cached: executions of one state machine share one."""

from __future__ import annotations

import threading
from collections import OrderedDict

from stepfn.definition.model import Machine, build
from stepfn.definition.parse import parse_definition


class ModelCache:
    """Built models by definition text: executions of one state machine share one."""

    def __init__(self, size: int = 256) -> None:
        self._models: OrderedDict[str, Machine] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, definition: str) -> Machine:
        """The model of a (validated) definition."""
        with self._lock:
            model = self._models.get(definition)
            if model is not None:
                self._models.move_to_end(definition)
                return model
        model = build(parse_definition(definition))
        with self._lock:
            self._models[definition] = model
            while len(self._models) > self._size:
                self._models.popitem(last=False)
        return model
