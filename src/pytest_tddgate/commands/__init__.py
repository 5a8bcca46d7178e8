"""Subcommands of the `tddgate` command, one module each (see cli.py)."""
