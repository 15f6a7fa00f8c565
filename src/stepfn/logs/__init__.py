"""CloudWatch Logs: execution logs as AWS writes them, their delivery after each commit,
and the Logs API operations that read them."""
