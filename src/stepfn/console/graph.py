"""A state machine's definition as a graph the console draws: nodes, edges and nested
groups, in a JSON-serialisable shape that ``static/console.js`` lays out with dagre.

Every state is a node. A Parallel state is a group holding its own node (where the
flow enters), one group per branch and a join node (where the flow leaves); a Map state
likewise holds its item processor as one group. Edges are ``next``, ``choice`` (one per
Choice rule), ``default``, ``catch`` (labelled with the errors caught) and ``branch``
(from a Parallel or Map into the branches it starts). Terminal states (``End``,
``Succeed``, ``Fail``) lead to the end of their scope: the machine's End node at the top,
their Parallel's or Map's join node inside one.

Node ids are generated (``n0``, ``n1`` ...), never a state's name, so a name is only ever
data: the page puts it in text nodes, not in markup or selectors.

The shape::

    {"nodes": [{"id", "name", "type", "parent", "path"}],
     "groups": [{"id", "label", "kind", "parent"}],
     "edges": [{"source", "target", "kind", "label"}]}

``path`` is the state's location in the definition (``/States/Par/Branches/0/States/A``)
and ``parent`` the id of the group holding it (``None`` at the top).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

START = "start"
END = "end"


class DefinitionUnreadable(ValueError):
    """The definition text is neither JSON nor YAML holding an object."""


def parse(text: str) -> dict[str, Any]:
    """The definition as a dict: JSON, or YAML (which stepfn also accepts)."""
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DefinitionUnreadable(f"definition is neither JSON nor YAML: {exc}") from None
    if not isinstance(value, dict):
        raise DefinitionUnreadable("definition is not an object")
    return value


@dataclass
class _Builder:
    nodes: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def new_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def node(
        self, name: str, type_: str, parent: str | None, path: str, node_id: str | None = None
    ) -> str:
        node_id = node_id or self.new_id("n")
        self.nodes.append(
            {"id": node_id, "name": name, "type": type_, "parent": parent, "path": path}
        )
        return node_id

    def group(self, label: str, kind: str, parent: str | None) -> str:
        group_id = self.new_id("g")
        self.groups.append({"id": group_id, "label": label, "kind": kind, "parent": parent})
        return group_id

    def edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        self.edges.append({"source": source, "target": target, "kind": kind, "label": label})

    def scope(self, body: Any, parent: str | None, path: str, end: str) -> str | None:
        """Add the states of one ``{"StartAt", "States"}`` body; the id its flow enters
        by (``None`` when the body names no start that exists)."""
        if not isinstance(body, dict):
            return None
        states = body.get("States")
        if not isinstance(states, dict):
            return None
        # (entry id, exit id) of each state: a Parallel or Map is entered by its own node
        # and left by its join node.
        ends: dict[str, tuple[str, str]] = {}
        for name, state in states.items():
            ends[str(name)] = self.state(str(name), state, parent, f"{path}/States/{name}")
        for name, state in states.items():
            if isinstance(state, dict):
                self.flow(ends[str(name)][1], state, ends, end)
        start = body.get("StartAt")
        return ends[start][0] if isinstance(start, str) and start in ends else None

    def state(self, name: str, state: Any, parent: str | None, path: str) -> tuple[str, str]:
        type_ = str(state.get("Type", "")) if isinstance(state, dict) else ""
        if type_ not in ("Parallel", "Map") or not isinstance(state, dict):
            node_id = self.node(name, type_, parent, path)
            return node_id, node_id
        group = self.group(name, type_.lower(), parent)
        head = self.node(name, type_, group, path)
        join = self.node("", "Join", group, path + "#join", self.new_id("j"))
        if type_ == "Parallel":
            branches = state.get("Branches")
            for index, branch in enumerate(branches if isinstance(branches, list) else []):
                inner = self.group(f"Branch {index + 1}", "branch", group)
                entry = self.scope(branch, inner, f"{path}/Branches/{index}", join)
                if entry is not None:
                    self.edge(head, entry, "branch")
        else:
            key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
            processor = state.get(key)
            mode = "inline"
            if isinstance(processor, dict):
                config = processor.get("ProcessorConfig")
                if isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED":
                    mode = "distributed"
            inner = self.group(f"Item processor ({mode})", "processor", group)
            entry = self.scope(processor, inner, f"{path}/{key}", join)
            if entry is not None:
                self.edge(head, entry, "branch")
        return head, join

    def flow(
        self,
        source: str,
        state: dict[str, Any],
        ends: dict[str, tuple[str, str]],
        end: str,
    ) -> None:
        def to(target: Any, kind: str, label: str = "") -> None:
            if isinstance(target, str) and target in ends:
                self.edge(source, ends[target][0], kind, label)

        type_ = state.get("Type")
        if type_ == "Choice":
            choices = state.get("Choices")
            for index, rule in enumerate(choices if isinstance(choices, list) else []):
                if isinstance(rule, dict):
                    to(rule.get("Next"), "choice", rule_label(rule, index))
            to(state.get("Default"), "default", "Default")
        else:
            to(state.get("Next"), "next")
        catchers = state.get("Catch")
        for catcher in catchers if isinstance(catchers, list) else []:
            if isinstance(catcher, dict):
                errors = catcher.get("ErrorEquals")
                label = ", ".join(str(e) for e in errors) if isinstance(errors, list) else ""
                to(catcher.get("Next"), "catch", label)
        if type_ in ("Succeed", "Fail") or state.get("End") is True:
            self.edge(source, end, "end")


def rule_label(rule: dict[str, Any], index: int) -> str:
    """A short text for a Choice rule's edge: its JSONata condition, or its variable and
    operator, else its number."""
    condition = rule.get("Condition")
    if isinstance(condition, str):
        return shorten(condition)
    variable = rule.get("Variable")
    for key, value in rule.items():
        if key not in ("Variable", "Next", "Assign", "Output", "Comment"):
            if isinstance(variable, str):
                return shorten(f"{variable} {key} {json.dumps(value)}")
            return shorten(key)
    return f"Rule {index + 1}"


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def build_graph(definition: dict[str, Any]) -> dict[str, Any]:
    """The graph of a parsed definition (see the module's docstring for its shape).

    A definition with dangling names still gives a graph: edges to states that do not
    exist are left out, so a page can always draw what is there.
    """
    builder = _Builder()
    builder.node("Start", "Start", None, "", START)
    builder.node("End", "End", None, "", END)
    entry = builder.scope(definition, None, "", END)
    if entry is not None:
        builder.edge(START, entry, "next")
    return {"nodes": builder.nodes, "groups": builder.groups, "edges": builder.edges}


def ancestors(graph: dict[str, Any]) -> dict[str, list[str]]:
    """For each state name, the names of the Parallel and Map states that enclose it,
    innermost first (the outcome colouring needs them to fail what a failed branch
    left running)."""
    group_parent = {g["id"]: g["parent"] for g in graph["groups"]}
    group_owner = {
        n["parent"]: n["name"] for n in graph["nodes"] if n["type"] in ("Parallel", "Map")
    }
    out: dict[str, list[str]] = {}
    for node in graph["nodes"]:
        if node["type"] in ("Start", "End", "Join"):
            continue
        chain: list[str] = []
        group = node["parent"]
        while group is not None:
            owner = group_owner.get(group)
            if owner is not None and owner != node["name"]:
                chain.append(owner)
            group = group_parent.get(group)
        out.setdefault(node["name"], chain)
    return out
