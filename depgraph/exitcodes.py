"""Exit codes of every `depgraph` command, and the one place errors are mapped to them
(`EXIT_CODES_HELP` is the table, as `depgraph --help` prints it)."""

from __future__ import annotations

from enum import IntEnum

from depgraph.core.errors import DepgraphError

__all__ = ["EXIT_CODES_HELP", "ExitCode", "exit_code_for"]

EXIT_CODES_HELP = """\
exit codes:
  0    everything asked for was done
  1    the run finished, but some of the work failed: a requested project that the
       index lacks or whose page is unreadable, an index that is not one, an sdist
       that did not build (`sandbox extract`)
  2    usage or input error: bad arguments, a missing or foreign store, an
       unreachable index, an unreadable data file, no sandbox where one was
       demanded
  130  interrupted (Ctrl-C or SIGTERM); finished work is committed, run the
       command again to resume
"""


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1
    USAGE = 2
    INTERRUPTED = 130


def exit_code_for(exc: DepgraphError) -> ExitCode:
    """Every error that reaches the command line stops the command before its work is done: the
    input, the store, the index root or the sandbox it needs is not usable as given."""
    del exc  # one code for all today; EXIT_CODES_HELP is the contract
    return ExitCode.USAGE
