"""Built models of definition texts, cached: executions of one state machine share one,
with what interpreters compile from it (``interp.machine.Compiled``)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from stepfn.definition.model import Machine, build
from stepfn.definition.parse import parse_definition
from stepfn.interp.machine import Compiled


class ModelCache:
    """Built models by definition text: executions of one state machine share one."""

    def __init__(self, size: int = 256) -> None:
        self._models: OrderedDict[str, Compiled] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, definition: str) -> Machine:
        """The model of a (validated) definition."""
        return self.compiled(definition).machine

    def compiled(self, definition: str) -> Compiled:
        """The model of a (validated) definition with what its interpreters compile
        from it, to give each new ``Interpreter`` of it."""
        with self._lock:
            found = self._models.get(definition)
            if found is not None:
                self._models.move_to_end(definition)
                return found
        found = Compiled(build(parse_definition(definition)))
        with self._lock:
            self._models[definition] = found
            while len(self._models) > self._size:
                self._models.popitem(last=False)
        return found
