"""Which CPUs each role of a run may use: the app apart from the load generator.

Three roles: the **app**, the **load generator** (Locust) and the **services** (the upstream
stand-in and the database, light by design). ``--app-cpus``, ``--loadgen-cpus`` and
``--services-cpus`` set a role's CPUs; a role not given is planned from the CPUs left by the
ones given, with one rule (``split``), so a 2-CPU box and a 64-CPU one are planned alike:

- the app gets half (``n // 2``), the services an eighth (at least one), the load generator
  the rest: 4 CPUs → 2 / 1 / 1, 16 → 8 / 6 / 2, 64 → 32 / 24 / 8;
- two CPUs cannot hold three roles apart: the app gets the first alone and the services share
  the load generator's (this is the plan's layout, not a flagged overlap: the services are
  light); one CPU is shared by everything, and the run is flagged.

Roles given on the command line may not overlap, nor leave a role with no CPU, unless
``--allow-shared-cores``; a plan whose app shares a CPU with another role is flagged in the
report (``shared``). Where the OS cannot pin (macOS: no ``sched_setaffinity``), every role may
use every CPU, the plan says "not pinned" and the report flags it. The plan is recorded in every
run's metadata (``to_dict``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness import affinity

ROLES = ("app", "loadgen", "services")
OPTIONS = {"app": "--app-cpus", "loadgen": "--loadgen-cpus", "services": "--services-cpus"}
NAMES = {"app": "the app", "loadgen": "the load generator", "services": "the services"}
NOT_PINNED = "not pinned: load generator and app share cores"
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class PlanError(ValueError):
    """A plan that cannot be made as asked: ``option`` names the command-line option to blame."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def parse_cpus(text: str) -> tuple[int, ...]:
    """``"0-3,6"`` → ``(0, 1, 2, 3, 6)``; ValueError, in words, for anything else."""
    if not text.strip():
        raise ValueError("an empty set of CPUs")
    cpus: set[int] = set()
    for part in text.split(","):
        found = _RANGE.match(part.strip())
        if found is None:
            raise ValueError(f"expected CPU numbers or ranges such as 0-3,6, got {text!r}")
        low, high = int(found[1]), int(found[2] or found[1])
        if high < low:
            raise ValueError(f"the range {part.strip()} runs backwards")
        cpus.update(range(low, high + 1))
    return tuple(sorted(cpus))


def listed(cpus: Sequence[int]) -> str:
    """``(0, 1, 2, 3, 6, 7)`` → ``"0-3,6,7"``: how the plan names CPUs in words (a range for
    three or more in a row)."""
    out: list[str] = []
    run: list[int] = []
    for cpu in [*sorted(cpus), -2]:
        if run and cpu != run[-1] + 1:
            out += [f"{run[0]}-{run[-1]}"] if len(run) >= 3 else [str(c) for c in run]
            run = []
        run.append(cpu)
    return ",".join(out)


def split(cpus: Sequence[int], roles: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """The default rule: ``cpus`` shared out among ``roles`` (in ``ROLES`` order), each role
    a block of consecutive CPUs. Weights app 4, load generator 3, services 1 (8 / 6 / 2 of 16):
    each role but the load generator gets its floor share (at least one), the load generator
    the rest. With fewer CPUs than roles, the services ride with the load generator, and with
    fewer still every role gets every CPU (the caller flags it)."""
    ordered = sorted(cpus)
    wanted = [r for r in ROLES if r in roles]
    n = len(ordered)
    if not wanted:
        return {}
    if n >= len(wanted):
        weights = {"app": 4, "loadgen": 3, "services": 1}
        total = sum(weights[r] for r in wanted)
        rest = "loadgen" if "loadgen" in wanted else wanted[-1]
        counts = {r: max(1, n * weights[r] // total) for r in wanted if r != rest}
        counts[rest] = n - sum(counts.values())
        out, at = {}, 0
        for role in wanted:
            out[role] = tuple(ordered[at : at + counts[role]])
            at += counts[role]
        return out
    if "services" in wanted and "loadgen" in wanted and n == len(wanted) - 1:
        out = split(ordered, [r for r in wanted if r != "services"])
        return {**out, "services": out["loadgen"]}
    return {role: tuple(ordered) for role in wanted}


@dataclass(frozen=True)
class Share:
    """Two roles that share CPUs, and which."""

    roles: tuple[str, str]
    cpus: tuple[int, ...]

    @property
    def text(self) -> str:
        a, b = (NAMES[r] for r in self.roles)
        return f"{a} and {b} share CPU {listed(self.cpus)}"


@dataclass(frozen=True)
class Pinning:
    """The CPUs of each role. ``app`` is a tuple of CPUs (several uvicorn workers share it)."""

    app: tuple[int, ...]
    loadgen: tuple[int, ...]
    upstream: tuple[int, ...]
    database: tuple[int, ...]
    note: str
    pinned: bool = True  # False where the OS cannot pin: every role may use every CPU
    given: tuple[str, ...] = ()  # the roles set on the command line (the others: defaulted)
    allow_shared: bool = False  # --allow-shared-cores
    shared: tuple[Share, ...] = field(default=())  # overlaps the report flags

    @property
    def services(self) -> tuple[int, ...]:
        return self.upstream

    @classmethod
    def plan(
        cls,
        cpus: Sequence[int] | None = None,
        given: Mapping[str, Sequence[int]] | None = None,
        allow_shared: bool = False,
    ) -> Pinning:
        """The plan for ``cpus`` (default: the CPUs this process may run on), with the roles
        ``given`` (role → CPUs, already parsed) kept as given. ``PlanError`` names the option
        of a plan that cannot be made: a CPU not usable here, an empty set, an overlap or a
        role left without a CPU (unless ``allow_shared``), or any given role where the OS
        cannot pin."""
        chosen = {role: tuple(sorted(set(c))) for role, c in (given or {}).items()}
        if cpus is None and not affinity.can_pin():
            return cls.unpinned(chosen, allow_shared)
        available = tuple(sorted(cpus if cpus is not None else affinity.usable_cpus()))
        if not available:
            raise ValueError("no CPU to pin to")
        for role, mine in chosen.items():
            _check_usable(role, mine, available)
        roles = _planned(available, chosen, allow_shared)
        shared = _shares(roles, chosen)
        if shared and not allow_shared and chosen:
            raise _overlap_error(shared[0], chosen)
        return cls(
            app=roles["app"],
            loadgen=roles["loadgen"],
            upstream=roles["services"],
            database=roles["services"],
            note=_note(roles, shared, len(available)),
            given=tuple(r for r in ROLES if r in chosen),
            allow_shared=allow_shared,
            shared=shared,
        )

    @classmethod
    def unpinned(
        cls, given: Mapping[str, Sequence[int]] | None = None, allow_shared: bool = False
    ) -> Pinning:
        """Where the OS cannot pin: every role may use every CPU, and the plan says so."""
        for role in given or {}:
            raise PlanError(
                OPTIONS[role],
                "this OS cannot pin processes to CPUs (no sched_setaffinity): leave it out; "
                "the run is then not pinned, and its report says so",
            )
        every = affinity.usable_cpus()
        note = f"{NOT_PINNED} (this OS cannot pin processes to CPUs)"
        return cls(every, every, every, every, note, False, (), allow_shared)

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": list(self.app),
            "loadgen": list(self.loadgen),
            "services": list(self.services),
            "upstream": list(self.upstream),
            "database": list(self.database),
            "note": self.note,
            "pinned": self.pinned,
            "origin": {role: "given" if role in self.given else "default" for role in ROLES},
            "allow_shared_cores": self.allow_shared,
            "shared": [{"roles": list(s.roles), "cpus": list(s.cpus)} for s in self.shared],
        }


def _check_usable(role: str, chosen: tuple[int, ...], available: tuple[int, ...]) -> None:
    if not chosen:
        raise PlanError(OPTIONS[role], "an empty set of CPUs")
    foreign = [c for c in chosen if c not in available]
    if foreign:
        raise PlanError(
            OPTIONS[role],
            f"CPU {listed(foreign)} is not one this process may use ({listed(available)})",
        )


def _planned(
    available: tuple[int, ...], given: Mapping[str, tuple[int, ...]], allow_shared: bool
) -> dict[str, tuple[int, ...]]:
    """Every role's CPUs: the given ones, and the rest planned from what they left."""
    missing = [r for r in ROLES if r not in given]
    taken = {c for cpus in given.values() for c in cpus}
    left = [c for c in available if c not in taken]
    if missing == ["services"] and not left:  # the services ride with the load generator
        return {**given, "services": given["loadgen"]}
    if missing and not left:
        if not allow_shared:
            blame = next(r for r in ROLES if r in given)
            raise PlanError(
                OPTIONS[blame],
                f"{listed(given[blame])} leaves no CPU for {NAMES[missing[0]]}: give fewer CPUs, "
                "or add --allow-shared-cores",
            )
        planned = split(available, ROLES)  # shared: planned as if nothing was given
        return {**{r: planned[r] for r in missing}, **given}
    return {**split(left, missing), **given}


def _shares(
    roles: Mapping[str, tuple[int, ...]], given: Mapping[str, tuple[int, ...]]
) -> tuple[Share, ...]:
    """Every two roles that overlap, except services planned onto the load generator's CPUs
    (the 2-CPU layout: the services are light, and the app stays alone)."""
    out = []
    for i, a in enumerate(ROLES):
        for b in ROLES[i + 1 :]:
            common = tuple(sorted(set(roles[a]) & set(roles[b])))
            riding = (a, b) == ("loadgen", "services") and "services" not in given
            if common and not riding:
                out.append(Share((a, b), common))
    return tuple(out)


def _overlap_error(share: Share, given: Mapping[str, tuple[int, ...]]) -> PlanError:
    mine = [r for r in share.roles if r in given]
    if mine:
        blame, why = mine[0], f"{share.text}: they would compete for it; give separate CPUs"
    else:
        blame = next(r for r in ROLES if r in given)
        why = f"{listed(given[blame])} leaves too few CPUs: {share.text}; give fewer"
    return PlanError(
        OPTIONS[blame], f"{why}, or add --allow-shared-cores (the report then flags the run)"
    )


def _note(roles: Mapping[str, tuple[int, ...]], shared: tuple[Share, ...], count: int) -> str:
    """The plan in words, as the report shows it."""
    if count == 1:
        return "only one CPU: app and load generator share it (results are pessimistic)"
    app, loadgen, services = (listed(roles[r]) for r in ROLES)
    if roles["services"] == roles["loadgen"]:
        text = f"app on CPU {app}; load generator, upstream and database on CPU {loadgen}"
    else:
        text = (
            f"app on CPU {app}; load generator on CPU {loadgen}; upstream and database on "
            f"CPU {services}"
        )
    if shared:
        text += "; shared cores: " + ", ".join(s.text for s in shared)
    return text
