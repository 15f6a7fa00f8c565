"""The functions service: a durable registry that Tasks run, with Python callables first."""

from __future__ import annotations

import io
import json
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
