"""``stepfn tf-override``: the provider override file, and its refusals."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stepfn.cli import main
from stepfn.deploy.tf_override import ENDPOINTS, FILE_NAME


def test_writes_every_endpoint_and_the_skip_flags(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('provider "aws" {}\n')
    result = CliRunner().invoke(
        main, ["tf-override", str(tmp_path), "--endpoint-url", "http://127.0.0.1:9/"]
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / FILE_NAME).read_text()
    for name in ENDPOINTS:
        assert f'{name:<6} = "http://127.0.0.1:9"' in text
    for flag in (
        "skip_credentials_validation",
        "skip_requesting_account_id",
        "skip_metadata_api_check",
    ):
        assert f"{flag}" in text and "= true" in text.split(flag, 1)[1].splitlines()[0]


def test_refuses_a_folder_without_terraform_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["tf-override", str(tmp_path), "--endpoint-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert "no .tf files" in result.output
    assert not (tmp_path / FILE_NAME).exists()


def test_refuses_an_endpoint_that_is_not_a_url(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("")
    result = CliRunner().invoke(main, ["tf-override", str(tmp_path), "--endpoint-url", "local"])
    assert result.exit_code == 1 and "must be an http(s) URL" in result.output
