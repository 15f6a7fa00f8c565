"""The Order Processing System's shared Python code: settings, the database, mail, errors.

The Python functions (``functions/*/handler.py``) import this package as a Lambda function
imports a layer; the Node functions share ``functions/lib/`` and the same ``schema.sql``.
"""
