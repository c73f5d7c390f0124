"""Exceptions raised by pytables, with python-iptables' names and hierarchy."""

__all__ = ["XTablesError"]


class XTablesError(Exception):
    """A match or target (an xtables extension) refused a name, option or value."""


class IPTCError(Exception):
    """A table operation failed: unknown table or chain, refused commit, bad position, ..."""


class ConflictError(IPTCError):
    """The server refused a transaction because a precondition no longer holds (another
    process changed the table). Autocommit and `iptc_command` re-read and try again."""
