"""The ``hoplink`` command line: serve, db, and the operator's admin commands.

``main.app`` assembles the sub-commands, one module per concept. Every command
loads settings once, runs its async work with ``asyncio.run`` inside one
transaction, and turns each ``HoplinkError`` into a red message and exit code 1
(``ConfigError``: exit code 2), never a traceback.
"""
