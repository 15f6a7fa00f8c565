"""Testing with stepfn: Step Functions Local mock files, time scaling, a pytest plugin,
and execution status-change events."""

from stepfn.tasks.mock_adapter import MockRegistry, MockTasks, split_test_case
from stepfn.tasks.mock_config import (
    MockConfig,
    MockConfigError,
    load_mock_config,
    mock_config_from_env,
    parse_mock_config,
)

__all__ = [
    "MockConfig",
    "MockConfigError",
    "MockRegistry",
    "MockTasks",
    "load_mock_config",
    "mock_config_from_env",
    "parse_mock_config",
    "split_test_case",
]
