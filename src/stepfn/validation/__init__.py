"""Request validation: the service model's constraints, and the rules it cannot express.

* ``model``: the Step Functions service model (botocore's, or the bundled trimmed copy).
* ``requests``: the one model-driven validator (required members, JSON types, lengths,
  ranges, patterns, enums), used by the HTTP API and by the Engine's methods alike.
* ``rules``: the checks the model cannot express, each named and documented (resource
  names' characters, definitions, logging and encryption rules across members, tags,
  pagination tokens), and ``Constraints`` for the CloudWatch Logs operations, whose model
  stepfn does not bundle.

Import from the module that holds a name (``stepfn.validation.rules`` ...).
"""
