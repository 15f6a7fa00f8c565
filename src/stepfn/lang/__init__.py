"""The expression languages of ASL: JSONPath, intrinsic functions and JSONata.

Pure functions over JSON values. ``definition`` compiles expressions with them when it
builds the model (so a bad expression is a definition error with a location) and
``interp`` evaluates them. This package imports nothing of stepfn but ``errors`` and
``clock``.
"""
