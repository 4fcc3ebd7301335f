# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet: the linear strategy, with each host's share of a fleet task handed over in the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: fleet
short_description: linear, with each host's share of a fleet task handed over without a worker process
version_added: 0.2.0
description:
  - Runs a play as C(ansible.builtin.linear) does, task by task on every host of the batch, except for one kind
    of task - an action whose result for a host is already known on the controller -
    M(winremedy.windows.kb_facts) with O(winremedy.windows.kb_facts#module:fleet_task) (that host's outcome of
    a M(winremedy.windows.kb_fleet_audit) task run once for the batch), and M(winremedy.windows.kb_remediate)
    with O(winremedy.windows.kb_remediate#module:fleet_task) (of M(winremedy.windows.kb_fleet_remediate)). Such a task's result is taken in the
    controller process instead of in a new worker process per host, then handled as any host's result - its
    facts, C(register), C(ignore_errors), C(ignore_unreachable), callbacks and the PLAY RECAP.
  - That task, with a loop, a condition, delegation, C(changed_when), C(failed_when), C(until), C(notify),
    C(async), a templated C(ignore_errors), C(ignore_unreachable) or C(no_log), or for a host whose result is not
    known, runs in a worker process as under C(linear); so does every other task.
author:
  - winremedy engineers (!UNKNOWN)
"""

import typing as t

from ansible import constants as C
from ansible.plugins.loader import action_loader
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule

try:  # ansible-core's own result type, as a worker sends it (2.19); internal: an ansible-core without it runs every
    # task in a worker, as linear does - slower, with the same results
    from ansible.executor.task_result import _RawTaskResult
except ImportError:
    _RawTaskResult = None  # type: ignore[assignment,misc]

if t.TYPE_CHECKING:
    from ansible.inventory.host import Host
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task

# What a worker evaluates around the action: a task with any of them keeps its worker.
_AROUND_THE_ACTION = ("loop", "loop_with", "when", "delegate_to", "changed_when", "failed_when", "until", "notify",
                      "async_val")
# read here as they are, so they must be plain booleans (or unset), not templates a worker would resolve first
_READ_AS_THEY_ARE = ("ignore_errors", "ignore_unreachable", "no_log")


class StrategyModule(LinearStrategyModule):
    def _queue_task(self, host: Host, task: Task, task_vars: dict[str, t.Any], play_context: PlayContext) -> None:
        result = self._known_result(task, task_vars) if _RawTaskResult is not None else None
        if result is None:
            super()._queue_task(host, task, task_vars, play_context)
            return
        # what the base class records for a queued task, and what it counts on to collect the result
        self._queued_task_cache[(host.name, task._uuid)] = {
            "host": host, "task": task, "task_vars": task_vars, "play_context": play_context}
        self._tqm.send_callback("v2_runner_on_start", host, task)
        with self._results_lock:
            self._results.append(_RawTaskResult(host=host, task=task, return_data=result,
                                                task_fields=task.dump_attrs()))
        self._pending_results += 1

    def _known_result(self, task: Task, task_vars: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """The task's result for this host when its action already knows it, else None (a worker runs the task)."""
        if any(getattr(task, name, None) for name in _AROUND_THE_ACTION) or not all(
                isinstance(getattr(task, name), (bool, type(None))) for name in _READ_AS_THEY_ARE):
            return None
        try:
            action = action_loader.get(task.action, class_only=True, collection_list=task.collections)
        except KeyError:  # not an action plugin's name (linear looks it up the same way)
            return None
        known = getattr(action, "controller_result", None)
        result = known(task.args, task_vars) if known else None
        if result is not None:  # what a worker's task executor adds to every action's result
            result.setdefault("changed", False)
            result.setdefault("failed", False)
            result["_ansible_no_log"] = C.DEFAULT_NO_LOG if task.no_log is None else task.no_log
        return result
