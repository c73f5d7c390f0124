"""`iptc_command`: run a generator as a transaction over the tables it yields, retrying on conflict.

    @iptc_command()
    def fn():
        table = Table("nat", autocommit=False)
        yield table          # enlist (and re-read) the table
        ...                  # edit rules
        iptc_commit()        # commit what was enlisted so far (optional)
        iptc_return(True)    # commit the rest, and fn() returns True

When a commit fails (another process changed a chain this transaction depends on, or the kernel
refused a rule) the enlisted tables are re-read and the generator starts again from the top, up
to `maxretry` times. The control calls raise private exceptions the decorator catches, so nothing
relies on StopIteration crossing a generator (PEP 479 turns that into RuntimeError).
"""

import functools
import logging
import random
import threading
import time

from ._table import Table, commit_tables
from .errors import IPTCError, XTablesError

__all__ = ["iptc_abort", "iptc_command", "iptc_commit", "iptc_return"]

_state = threading.local()


class _Return(Exception):
    def __init__(self, value):
        Exception.__init__(self, value)
        self.value = value


class _Abort(Exception):
    pass


class _Commit:
    """What `iptc_commit()` returns; yielding it is allowed and does nothing more."""

    def __init__(self, tables):
        self.tables = tables


def iptc_return(value=None):
    """Ends the command: commits the enlisted tables and makes the call return `value`."""
    raise _Return(value)


def iptc_abort():
    """Ends the command without committing; the call returns None."""
    raise _Abort()


def iptc_commit(*tables):
    """Commits the tables enlisted so far (or those given) as one transaction, right away."""
    run = getattr(_state, "run", None)
    targets = list(tables) if tables else (list(run.tables) if run is not None else [])
    commit_tables(targets)
    return _Commit(targets)


class _Run:
    def __init__(self):
        self.tables = []


def _get_logger(logger):
    if logger is None:
        return logging.getLogger("pytables.helpers")
    if isinstance(logger, logging.Logger) or not callable(logger):
        return logger
    return logger()


def iptc_command(logger=None, maxretry=5):
    """Decorator factory; see the module docstring."""

    def decorate(body):
        @functools.wraps(body)
        def inner(*args, **kwargs):
            log = _get_logger(logger)
            outer = getattr(_state, "run", None)
            try:
                for attempt in range(1, maxretry + 1):
                    run = _Run()
                    _state.run = run
                    try:
                        value = _drive(body(*args, **kwargs), run)
                        commit_tables(run.tables)
                        return value
                    except _Abort:
                        log.debug('iptc function "%s" voluntarily aborted', body.__name__)
                        _discard(run.tables)
                        return None
                    except (IPTCError, XTablesError) as exc:
                        _discard(run.tables)
                        if getattr(exc, "outcome_unknown", False):
                            # Sent, and maybe carried out by a server that went away: running
                            # the generator again could do it twice.
                            log.error('iptc function "%s" failed: %s; not run again', body.__name__, exc)
                            return None
                        log.warning('iptc function "%s" failed (try %d of %d): %s; retrying',
                                    body.__name__, attempt, maxretry, exc)
                        time.sleep(random.uniform(0, min(0.002 * 2 ** min(attempt, 6), 0.1)))
                    except BaseException:
                        _discard(run.tables)  # nothing half-done leaks into a later commit
                        raise
                log.error('too many retries for iptc function "%s", aborting', body.__name__)
                return None
            finally:
                _state.run = outer

        return inner

    return decorate


def _drive(gen, run):
    """Runs the generator to its end (or iptc_return); returns the value to return."""
    if not hasattr(gen, "send"):
        return gen  # a plain function: its return value
    try:
        while True:
            try:
                obj = next(gen)
            except StopIteration as stop:
                return getattr(stop, "value", None)
            if isinstance(obj, Table):
                if obj not in run.tables:
                    # Start from the current kernel state (drops what a failed try left behind).
                    obj._load()
                    run.tables.append(obj)
            elif isinstance(obj, _Commit):
                pass  # iptc_commit() already committed
    except _Return as ret:
        return ret.value
    finally:
        gen.close()


def _discard(tables):
    for t in tables:
        t._pending = []
        t._stale = True
