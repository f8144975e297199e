"""A worker killed at a real point of its work: as it sends its nth SQL statement of a kind, through Django's
own hook on the connection (connection.execute_wrapper), instead of patching a private function of the code
under test. KeyboardInterrupt stands for the kill: no pass may catch it, as none survives a SIGKILL; the
database rolls back what the statement's transaction had not committed. (tests/faults/ kills real processes.)"""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def killed_at(statement_part: str, nth: int):
    """The code inside dies as it sends the nth statement whose SQL contains `statement_part`."""
    seen = 0

    def wrapper(execute, sql, params, many, context):
        nonlocal seen
        if statement_part in sql:
            seen += 1
            if seen == nth:
                raise KeyboardInterrupt(f"killed at statement {nth} containing {statement_part!r}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
