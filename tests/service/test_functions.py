"""The functions service: a durable registry that Tasks run, with Python callables first."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stepfn.errors import ServiceError
from stepfn.service.engine import Engine

pytestmark = pytest.mark.integration

CODE = "def handler(event, context):\n    return {'from': 'zip', 'event': event}\n"


def zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def create(engine: Engine, name: str) -> dict[str, Any]:
    return engine.functions.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role="r",
        Code={"ZipFile": zipped(CODE)},
    )


def test_functions_survive_reopening_the_store(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with Engine.open(db, background=False) as engine:
        create(engine, "keep")
        engine.functions.publish_version(FunctionName="keep")
        engine.functions.create_alias(FunctionName="keep", Name="live", FunctionVersion="1")
    assert (tmp_path / "s.db.code").is_dir()
    with Engine.open(db, background=False) as engine:
        config = engine.functions.get_function_configuration(FunctionName="keep", Qualifier="live")
        assert config["Version"] == "1"
        answer = engine.functions.invoke(FunctionName="keep", Payload=b'{"n": 1}')
        assert json.loads(answer["Payload"]) == {"from": "zip", "event": {"n": 1}}
        assert engine.functions.publish_version(FunctionName="keep")["Version"] == "1"


def test_missing_function_is_lambdas_404() -> None:
    with (
        Engine.open("memory://", background=False) as engine,
        pytest.raises(ServiceError) as missing,
    ):
        engine.functions.get_function(FunctionName="nope")
    assert missing.value.code == "ResourceNotFoundException" and missing.value.status == 404


def run_task(engine: Engine, name: str) -> Any:
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    machine = engine.create_state_machine(
        name=f"m-{name}", definition=json.dumps(definition), roleArn="arn:aws:iam::1:role/r"
    )["stateMachineArn"]
    started = engine.start_execution(stateMachineArn=machine, input='{"x": 1}')
    engine.run_until_idle()
    while True:
        described = engine.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            return described
        engine.run_until_idle()


def test_python_callables_take_precedence_for_their_names() -> None:
    def local(event: Any, context: Any) -> Any:
        return {"from": "python"}

    with Engine.open("memory://", functions={"both": local}, background=False) as engine:
        create(engine, "both")
        create(engine, "zip-only")
        assert json.loads(run_task(engine, "both")["output"]) == {"from": "python"}
        output = json.loads(run_task(engine, "zip-only")["output"])
        assert output == {"from": "zip", "event": {"x": 1}}


def node_code(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    folder.mkdir()
    (folder / "index.js").write_text(
        "exports.handler = async (event) => {\n"
        "  console.log('node saw', JSON.stringify(event));\n"
        "  return { node: event };\n"
        "};\n"
    )
    return folder


def test_functions_given_by_their_code_are_registered_and_run(tmp_path: Path) -> None:
    from stepfn import FunctionCode

    folder = node_code(tmp_path)
    db = str(tmp_path / "s.db")
    with Engine.open(db, functions={"coded": FunctionCode(str(folder))}) as engine:
        listed = engine.functions.list_functions()["Functions"]
        assert [(f["FunctionName"], f["Runtime"], f["Handler"]) for f in listed] == [
            ("coded", "nodejs20.x", "index.handler")
        ]
        assert json.loads(run_task(engine, "coded")["output"]) == {"node": {"x": 1}}
    # Registered durably: a server started again without the option still has it.
    with Engine.open(db, background=False) as engine:
        assert engine.functions.get_function(FunctionName="coded")["Configuration"]["Handler"]


def test_code_that_cannot_run_is_refused_at_start(tmp_path: Path) -> None:
    from stepfn import FunctionCode

    (tmp_path / "empty").mkdir()
    with pytest.raises(ServiceError) as refused:
        Engine.open("memory://", functions={"bad": FunctionCode(str(tmp_path / "empty"))})
    assert refused.value.code == "InvalidParameterValueException"
    assert "lambda_function.py" in refused.value.message


def test_task_invocations_log_to_the_functions_log_group(tmp_path: Path) -> None:
    from stepfn import FunctionCode

    with Engine.open(
        "memory://", functions={"talk": FunctionCode(str(node_code(tmp_path)))}
    ) as engine:
        run_task(engine, "talk")
        assert engine.functions.logs.flush()
        streams = engine.logs.describe_log_streams(logGroupName="/aws/lambda/talk")["logStreams"]
        assert len(streams) == 1 and "[$LATEST]" in streams[0]["logStreamName"]
        events = engine.logs.get_log_events(
            logGroupName="/aws/lambda/talk",
            logStreamName=streams[0]["logStreamName"],
            startFromHead=True,
        )["events"]
        messages = [e["message"] for e in events]
        assert messages[0].startswith("START RequestId: ")
        assert any('node saw {"x":1}' in m for m in messages)
        assert messages[-2].startswith("END RequestId: ")
        assert messages[-1].startswith("REPORT RequestId: ") and "Duration:" in messages[-1]


def test_a_lambda_task_times_out_at_its_heartbeat_on_the_engine(tmp_path: Path) -> None:
    from stepfn import FunctionCode

    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "app.py").write_text("import time\n\ndef handler(e, c):\n    time.sleep(60)\n")
    code = FunctionCode(str(folder), handler="app.handler", timeout=120)
    with Engine.open("memory://", functions={"slow": code}) as engine:
        arn = "arn:aws:lambda:us-east-1:123456789012:function:slow"
        task = {"Type": "Task", "Resource": arn, "HeartbeatSeconds": 1, "End": True}
        machine = engine.create_state_machine(
            name="hb",
            definition=json.dumps({"StartAt": "T", "States": {"T": task}}),
            roleArn="arn:aws:iam::1:role/r",
        )["stateMachineArn"]
        started = engine.start_execution(stateMachineArn=machine, input="{}")
        for _ in range(600):
            described = engine.describe_execution(executionArn=started["executionArn"])
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
        types = [
            e["type"]
            for e in engine.get_execution_history(executionArn=started["executionArn"])["events"]
        ]
        assert "LambdaFunctionTimedOut" in types


def test_listings_come_in_pages() -> None:
    with Engine.open("memory://", background=False) as engine:
        for n in range(5):
            create(engine, f"f{n}")
        names: list[str] = []
        marker = None
        pages = 0
        while True:
            params: dict[str, Any] = {"MaxItems": 2}
            if marker:
                params["Marker"] = marker
            page = engine.functions.list_functions(**params)
            names += [f["FunctionName"] for f in page["Functions"]]
            pages += 1
            marker = page.get("NextMarker")
            if not marker:
                break
        assert (names, pages) == ([f"f{n}" for n in range(5)], 3)
        for n in range(3):
            engine.functions.update_function_configuration(
                FunctionName="f0", Environment={"Variables": {"N": str(n)}}
            )
            engine.functions.publish_version(FunctionName="f0")
        first = engine.functions.list_versions_by_function(FunctionName="f0", MaxItems=3)
        assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1", "2"]
        rest = engine.functions.list_versions_by_function(
            FunctionName="f0", Marker=first["NextMarker"]
        )
        assert [v["Version"] for v in rest["Versions"]] == ["3"] and "NextMarker" not in rest
        for alias in ("a", "b", "c"):
            engine.functions.create_alias(FunctionName="f0", Name=alias, FunctionVersion="1")
        aliases = engine.functions.list_aliases(FunctionName="f0", MaxItems=2)
        assert [a["Name"] for a in aliases["Aliases"]] == ["a", "b"]
        with pytest.raises(ServiceError) as bad:
            engine.functions.list_functions(Marker="not-a-marker")
        assert bad.value.code == "InvalidParameterValueException"


def test_resource_policies() -> None:
    with Engine.open("memory://", background=False) as engine:
        create(engine, "guarded")
        functions = engine.functions
        with pytest.raises(ServiceError) as none:
            functions.get_policy(FunctionName="guarded")
        assert none.value.code == "ResourceNotFoundException"
        added = functions.add_permission(
            FunctionName="guarded",
            StatementId="s3",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn="arn:aws:s3:::bucket",
            SourceAccount="123456789012",
        )
        statement = json.loads(added["Statement"])
        assert statement == {
            "Sid": "s3",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:guarded",
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": "123456789012"},
                "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"},
            },
        }
        functions.add_permission(
            FunctionName="guarded", StatementId="acct", Action="lambda:*", Principal="210987654321"
        )
        policy = json.loads(functions.get_policy(FunctionName="guarded")["Policy"])
        assert [s["Sid"] for s in policy["Statement"]] == ["s3", "acct"]
        assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
        with pytest.raises(ServiceError) as duplicate:
            functions.add_permission(
                FunctionName="guarded", StatementId="s3", Action="lambda:*", Principal="*"
            )
        assert (duplicate.value.code, duplicate.value.status) == ("ResourceConflictException", 409)
        functions.remove_permission(FunctionName="guarded", StatementId="s3")
        with pytest.raises(ServiceError) as gone:
            functions.remove_permission(FunctionName="guarded", StatementId="s3")
        assert gone.value.code == "ResourceNotFoundException"
        with pytest.raises(ServiceError) as missing:
            functions.add_permission(
                FunctionName="nope", StatementId="x", Action="lambda:*", Principal="*"
            )
        assert missing.value.code == "ResourceNotFoundException"
        with pytest.raises(ServiceError) as no_version:
            functions.add_permission(
                FunctionName="guarded",
                StatementId="x",
                Action="lambda:*",
                Principal="*",
                Qualifier="7",
            )
        assert no_version.value.code == "ResourceNotFoundException"
        functions.publish_version(FunctionName="guarded")
        functions.create_alias(FunctionName="guarded", Name="live", FunctionVersion="1")
        functions.add_permission(
            FunctionName="guarded", StatementId="a", Action="lambda:*", Principal="*",
            Qualifier="live",
        )  # fmt: skip
        alias_policy = json.loads(
            functions.get_policy(FunctionName="guarded", Qualifier="live")["Policy"]
        )
        assert alias_policy["Statement"][0]["Resource"].endswith(":function:guarded:live")
        functions.delete_alias(FunctionName="guarded", Name="live")
        functions.create_alias(FunctionName="guarded", Name="live", FunctionVersion="1")
        with pytest.raises(ServiceError):
            functions.get_policy(FunctionName="guarded", Qualifier="live")
        functions.delete_function(FunctionName="guarded")
        create(engine, "guarded")
        with pytest.raises(ServiceError):
            functions.get_policy(FunctionName="guarded")  # the old policy went with it
