# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: a host's outcome of a fleet task (kb_fleet_audit, kb_fleet_remediate), as its
per-host task result (kb_facts, kb_remediate: their option ``fleet_task``, doc fragment winremedy.windows.fleet).

Imports nothing of the engine: kb_facts, kb_remediate and the strategy winremedy.windows.fleet use it on the
controller before (or without) the engine being imported.
"""

from __future__ import annotations

import typing as t
from collections.abc import Collection, Mapping

FLEET_OPTION = "fleet_task"  # the name of the variable the fleet task registered its result as
FLEET_OPTION_SPEC: dict[str, t.Any] = {"type": "str"}


def fleet_outcome(args: Mapping[str, t.Any], task_vars: Mapping[str, t.Any],
                  options: Collection[str]) -> Mapping[str, t.Any] | None:
    """This host's entry of the fleet result that ``args[FLEET_OPTION]`` names; None when there is none (no such
    option, an option the task does not take, a skipped fleet task, a host it left out).

    Read from the variables as they are, not templated: the strategy winremedy.windows.fleet calls this in the
    controller with the task's own arguments, so that a host's share of a fleet task costs no worker process.
    """
    name = args.get(FLEET_OPTION)
    if not isinstance(name, str) or not set(args) <= set(options):
        return None
    fleet = task_vars.get(name)
    hosts = fleet.get("hosts") if isinstance(fleet, Mapping) else None  # a skipped fleet task has none
    outcome = hosts.get(str(task_vars["inventory_hostname"])) if isinstance(hosts, Mapping) else None
    return outcome if isinstance(outcome, Mapping) else None


def replayed(args: Mapping[str, t.Any], task_vars: Mapping[str, t.Any], fleet_module: str,
             controller_result: t.Callable[[Mapping[str, t.Any], Mapping[str, t.Any]], dict[str, t.Any] | None],
             ) -> dict[str, t.Any] | None:
    """What a per-host task's ``run`` reports when ``fleet_task`` is given: this host's result by its action's
    ``controller_result`` (the strategy's path), a failure naming a variable that does not exist (a typo), or
    None when the host is not in the fleet result (the task does its work)."""
    name = args.get(FLEET_OPTION)
    if name is None:
        return None
    if not isinstance(task_vars.get(name), Mapping):
        return {"failed": True, "msg": f"{FLEET_OPTION}: no variable {name!r} (register the result of "
                                       f"winremedy.windows.{fleet_module} under this name)"}
    return controller_result(args, task_vars)


def with_facts_at_top(outcome: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The task result from a host's outcome: its ``ansible_facts.winremedy`` also at the top level (as kb_facts
    documents its result), the rest as it is. The dict is new; what it holds is shared, not copied (ansible-core
    copies what it keeps)."""
    facts = outcome.get("ansible_facts", {}).get("winremedy")
    return {**outcome, **facts} if isinstance(facts, Mapping) else dict(outcome)
