"""Conformance: the cases recorded against AWS, run as data (see cases.py)."""
