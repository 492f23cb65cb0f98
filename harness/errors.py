"""The one exception type the CLI turns into a one-line error and a non-zero exit."""

from __future__ import annotations

from target_app.secrets import mask_secrets

# Exit codes of the CLI: 0 all good, CHECK_FAILED a check (bench run --check, a scenario's
# checks) or a regression (bench compare --fail-on-regression) failed, 2 bad input
# (BenchError), 3 a child the run depends on died (ChildDied), 130 interrupted (Interrupted).
CHECK_FAILED = 1


class BenchError(Exception):
    """A user-facing failure: the message is one line that says what is wrong and what to do,
    with every password masked."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(mask_secrets(" ".join(message.split())))


class Interrupted(BenchError):
    """Ctrl-C during a run: children are stopped and the partial run is kept."""

    exit_code = 130


class ChildDied(BenchError):
    """A process the run depends on (the app, the upstream, the database) exited mid-run: the
    run stops at once, keeps what was measured before, and is marked failed."""

    exit_code = 3


class Terminated(KeyboardInterrupt):
    """A signal asked the harness to stop (SIGTERM, SIGHUP): handled like Ctrl-C, but named."""
