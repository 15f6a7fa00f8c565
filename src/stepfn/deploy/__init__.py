"""Deploying Terraform files onto a stepfn server: the real ``terraform`` through a
provider override file (``tf_override.py``), or ``stepfn deploy`` reading the files
itself."""
