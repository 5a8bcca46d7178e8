"""`tddgate guard`: the gates' rules, asked by a coding agent's hooks at the moment
of each edit, after each shell command and before the agent stops (docs/agents.md).

protocol.py reads and writes Claude Code's hook JSON; decide.py decides, as pure
functions; judge.py gathers the facts with the gates' own parts; state.py keeps the
working tree before a command; stop.py and context.py serve the Stop and the
SessionStart / UserPromptSubmit events; record.py records test outcomes.
pytest and coverage are never imported on the path of an edit.
"""
