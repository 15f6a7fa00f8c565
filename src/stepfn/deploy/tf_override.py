"""The provider override file that points the real ``terraform`` at a stepfn server.

Terraform merges any ``*_override.tf`` file over the configuration, so the user's files
stay as they are (the seed's ``main.tf`` byte for byte): the override gives the ``aws``
provider test credentials, every endpoint the server answers (IAM, STS, Lambda, Step
Functions, CloudWatch Logs), and the flags that stop the provider from asking AWS who it
is (``skip_credentials_validation``, ``skip_requesting_account_id``,
``skip_metadata_api_check``), as tflocal does for LocalStack.
"""

from __future__ import annotations

from pathlib import Path

FILE_NAME = "stepfn_override.tf"

# The provider's endpoint names for the services the server answers.
ENDPOINTS = ("iam", "sts", "lambda", "sfn", "logs")


def override_text(endpoint_url: str, region: str = "us-east-1") -> str:
    """The text of the override file for a server at ``endpoint_url``."""
    url = endpoint_url.rstrip("/")
    endpoints = "\n".join(f'    {name:<6} = "{url}"' for name in ENDPOINTS)
    return f"""# Written by `stepfn tf-override`: points the aws provider at a stepfn server.
# Delete this file to deploy to AWS again.
provider "aws" {{
  region                      = "{region}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def write_override(directory: str | Path, endpoint_url: str, region: str = "us-east-1") -> Path:
    """Write the override file into ``directory`` (a Terraform root module); its path."""
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such directory")
    if not any(folder.glob("*.tf")):
        raise FileNotFoundError(f"{folder}: no .tf files (not a Terraform configuration)")
    path = folder / FILE_NAME
    path.write_text(override_text(endpoint_url, region), encoding="utf-8")
    return path
