"""Run things really at once: each function in its own thread, with its own database connection,
released together by a barrier. Used by the PostgreSQL concurrency tests of every app."""

import threading

from django.db import connection


def run_at_once(*functions, timeout: float = 120) -> list:
    """Each function's result, or the exception it raised, in the order given."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            results[i] = fn()
        except BaseException as exc:  # returned to the test, which asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a concurrent call did not finish"
    return results


def all_succeed(*functions, timeout: float = 120) -> list:
    """run_at_once, and fail the test with the errors if any function raised."""
    results = run_at_once(*functions, timeout=timeout)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results
