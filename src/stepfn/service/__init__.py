"""The service: the Engine facade and the services it is composed of (state machines with
versions and aliases, executions, activities and task tokens, map runs)."""
