"""Which interpreter builds an sdist: Python 3 first, Python 2.7 when the evidence says so.

Every backend runs the same two stages; this module holds the rule that joins them. The Python 3
stage's result carries `python2_evidence` when its failure looks like Python 2 code (setup.py does
not compile under 3 with a Python 2 idiom, or the build stopped on a name, module or method that
only Python 2 has). Then the Python 2.7 image builds it; its answer is final, because it ran the
code as written (it falls back on the same static read the first stage made).
"""

from __future__ import annotations

from collections.abc import Callable

from .result import SandboxResult

__all__ = ["PYTHON_CHOICES", "in_stages"]

#: auto: Python 3, then 2.7 on evidence; 3: never 2.7; 2.7: straight to the Python 2.7 image
PYTHON_CHOICES = ("auto", "3", "2.7")


def in_stages(
    run: Callable[[bool], SandboxResult], python: str, python2_ready: bool
) -> SandboxResult:
    """`run(python2)` builds once in the Python 3 (False) or the Python 2.7 (True) sandbox."""
    if python == "2.7":
        return run(True)
    first = run(False)
    if python == "3" or not first.python2_evidence:
        return first
    if not python2_ready:
        note = "no Python 2.7 sandbox here (`depgraph sandbox build-image` makes it)"
        first.detail = f"{first.detail}; {note}" if first.detail else note
        return first
    second = run(True)
    if not second.ok and second.failure == "syntax-error":
        # not Python 2 code either: the first stage's answer stands
        note = "not Python 2.7 code either (setup.py does not compile under 2.7)"
        first.detail = f"{first.detail}; {note}" if first.detail else note
        if first.failure == "python2-runtime-error":
            first.failure = "build-failed"  # the evidence was wrong: an ordinary failure
        first.seconds += second.seconds
        return first
    second.seconds += first.seconds
    second.python2_evidence = first.python2_evidence
    why = f"under Python 3: {first.python2_evidence}"
    second.detail = f"{second.detail}; {why}" if second.detail else why
    return second
