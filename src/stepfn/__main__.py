"""``python -m stepfn``: the same as the ``stepfn`` command."""

from stepfn.cli import main

if __name__ == "__main__":
    main()
