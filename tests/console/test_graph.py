from __future__ import annotations

from stepfn.console.graph import END, START, ancestors, build_graph, parse

from .machines import FAN_OUT


def by_name(graph: dict, name: str) -> dict:
    return next(n for n in graph["nodes"] if n["name"] == name)


def edges_between(graph: dict, source: str, target: str) -> list[dict]:
    a, b = by_name(graph, source)["id"], by_name(graph, target)["id"]
    return [e for e in graph["edges"] if e["source"] == a and e["target"] == b]


def test_every_state_is_a_node_with_its_type_and_path() -> None:
    graph = build_graph(FAN_OUT)
    names = {n["name"]: n for n in graph["nodes"] if n["type"] not in ("Join",)}
    assert set(names) == {
        "Start",
        "End",
        "Prepare",
        "Pick",
        "Each",
        "Double",
        "Both",
        "Left",
        "Right",
        "Recovered",
        "Broken",
    }
    assert names["Left"]["path"] == "/States/Both/Branches/0/States/Left"
    assert names["Double"]["path"] == "/States/Each/ItemProcessor/States/Double"
    assert names["Pick"]["type"] == "Choice"


def test_choice_rules_and_default_are_labelled_edges() -> None:
    graph = build_graph(FAN_OUT)
    [rule] = edges_between(graph, "Pick", "Each")
    assert rule["kind"] == "choice"
    assert rule["label"] == "$.items[0] NumericEquals 1"
    [default] = edges_between(graph, "Pick", "Broken")
    assert (default["kind"], default["label"]) == ("default", "Default")


def test_parallel_branches_and_map_processor_are_nested_groups() -> None:
    graph = build_graph(FAN_OUT)
    groups = {g["id"]: g for g in graph["groups"]}
    left, right, both = by_name(graph, "Left"), by_name(graph, "Right"), by_name(graph, "Both")
    assert groups[left["parent"]]["kind"] == "branch"
    assert left["parent"] != right["parent"]
    assert groups[left["parent"]]["parent"] == both["parent"]
    assert groups[both["parent"]] == {
        "id": both["parent"],
        "label": "Both",
        "kind": "parallel",
        "parent": None,
    }
    double = by_name(graph, "Double")
    assert groups[double["parent"]]["label"] == "Item processor (inline)"
    assert edges_between(graph, "Both", "Left")[0]["kind"] == "branch"


def test_catch_edges_leave_the_join_with_the_errors_caught() -> None:
    graph = build_graph(FAN_OUT)
    recovered = by_name(graph, "Recovered")["id"]
    [catch] = [e for e in graph["edges"] if e["kind"] == "catch"]
    assert catch["target"] == recovered and catch["label"] == "States.ALL"
    join = next(n for n in graph["nodes"] if n["id"] == catch["source"])
    assert join["type"] == "Join" and join["parent"] == by_name(graph, "Both")["parent"]


def test_terminal_states_end_their_scope() -> None:
    graph = build_graph(FAN_OUT)
    ends = {e["source"] for e in graph["edges"] if e["target"] == END}
    names = {n["id"]: n["name"] for n in graph["nodes"]}
    assert {names[s] for s in ends} == {"Recovered", "Broken", ""}  # "" is Both's join
    left_end = [e for e in graph["edges"] if e["source"] == by_name(graph, "Left")["id"]]
    assert [names[e["target"]] for e in left_end] == [""]
    assert [e["target"] for e in graph["edges"] if e["source"] == START] == [
        by_name(graph, "Prepare")["id"]
    ]


def test_dangling_names_leave_edges_out_rather_than_failing() -> None:
    graph = build_graph({"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "Next": "Gone"}}})
    assert [n["name"] for n in graph["nodes"]] == ["Start", "End", "A"]
    assert graph["edges"] == []


def test_ids_never_carry_a_state_name() -> None:
    graph = build_graph({"StartAt": "<b>", "States": {"<b>": {"Type": "Pass", "End": True}}})
    assert all("<" not in n["id"] for n in graph["nodes"])


def test_ancestors_are_the_enclosing_fan_outs_innermost_first() -> None:
    nested = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {
                                "Type": "Map",
                                "End": True,
                                "ItemProcessor": {
                                    "StartAt": "Leaf",
                                    "States": {"Leaf": {"Type": "Pass", "End": True}},
                                },
                            }
                        },
                    }
                ],
            }
        },
    }
    found = ancestors(build_graph(nested))
    assert found["Leaf"] == ["Inner", "Outer"]
    assert found["Inner"] == ["Outer"]
    assert found["Outer"] == []


def test_yaml_definitions_are_read_too() -> None:
    assert parse("StartAt: A\nStates:\n  A: {Type: Succeed}\n")["StartAt"] == "A"
