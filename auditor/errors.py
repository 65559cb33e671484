"""Error types the library raises; the CLI maps each to one line and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_NONCOMPLIANT = 3


class AuditorError(Exception):
    """Base class: a failure the user can act on. `str(err)` is the one line shown."""

    exit_code = EXIT_RUNTIME


class UsageError(AuditorError):
    """Bad command-line arguments (unknown region, missing folder, unknown format)."""

    exit_code = EXIT_USAGE


class PolicyError(AuditorError):
    """An invalid policy file; the message starts with `FILE:LINE:`."""

    exit_code = EXIT_USAGE


class InputError(AuditorError):
    """A malformed input file (inventory, CUR, price table, template); the message names the file."""

    exit_code = EXIT_USAGE


class CollectionError(AuditorError):
    """Collection could not run at all (no credentials, unreachable endpoint for every region)."""

    exit_code = EXIT_RUNTIME


class IncompleteCollection(AuditorError):
    """Collection ran but some calls failed; the inventory's `errors` table says which."""

    exit_code = EXIT_RUNTIME
