"""Request validation: the service model's constraints, and the rules it cannot express.

* ``model``: the Step Functions service model (botocore's, or the bundled trimmed copy).
* ``requests``: the one model-driven validator (required members, JSON types, lengths,
  ranges, patterns, enums), used by the HTTP API and by the Engine's methods alike.
* ``rules``: the checks the model cannot express, each named and documented (resource
  names' characters, definitions, logging and encryption rules across members, tags,
  pagination tokens), and ``Constraints`` for the CloudWatch Logs operations, whose model
  stepfn does not bundle.

The names of ``rules`` are importable from here.
"""

from __future__ import annotations

from stepfn.validation.rules import (
    DEFAULT_ENCRYPTION,
    DEFAULT_LOGGING,
    DEFAULT_PAGE,
    DEFAULT_TRACING,
    ENCRYPTION_TYPES,
    LOG_LEVELS,
    MACHINE_TYPES,
    MAX_ARN,
    MAX_DEFINITION,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_PAGE,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MAX_TOKEN,
    Constraints,
    check_resource_name,
    invalid_definition,
    listing,
    normalize_encryption,
    normalize_logging,
    normalize_tracing,
    page,
    sequence,
    serialization_error,
    structure,
    tag_pairs,
    validation_error,
)

__all__ = [
    "DEFAULT_ENCRYPTION",
    "DEFAULT_LOGGING",
    "DEFAULT_PAGE",
    "DEFAULT_TRACING",
    "ENCRYPTION_TYPES",
    "LOG_LEVELS",
    "MACHINE_TYPES",
    "MAX_ARN",
    "MAX_DEFINITION",
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "MAX_PAGE",
    "MAX_TAGS",
    "MAX_TAG_KEY",
    "MAX_TAG_VALUE",
    "MAX_TOKEN",
    "Constraints",
    "check_resource_name",
    "invalid_definition",
    "listing",
    "normalize_encryption",
    "normalize_logging",
    "normalize_tracing",
    "page",
    "sequence",
    "serialization_error",
    "structure",
    "tag_pairs",
    "validation_error",
]
