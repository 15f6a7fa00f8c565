"""The durable machinery: the worker that steps executions and commits each step before
its effects start, the engine's loop (scheduler and recovery), and the local driver that
``stepfn.run`` uses."""
