# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: a host's outcome of a fleet task (kb_fleet_audit), as its per-host task result.

Imports nothing of the engine: kb_facts and the strategy winremedy.windows.fleet use it on the controller
before (or without) the engine being imported.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping


def with_facts_at_top(outcome: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The task result from a host's outcome: its ``ansible_facts.winremedy`` also at the top level (as kb_facts
    documents its result), the rest as it is. The dict is new; what it holds is shared, not copied (ansible-core
    copies what it keeps)."""
    facts = outcome.get("ansible_facts", {}).get("winremedy")
    return {**outcome, **facts} if isinstance(facts, Mapping) else dict(outcome)
