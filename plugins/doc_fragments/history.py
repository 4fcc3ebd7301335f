# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The history option of the plugins that write or read the leak history, documented once."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  history:
    description:
      - The leak history that this audit's trends join and that its samples and statuses are appended to (the
        reports chart it), exactly as C(winremedy audit --history); not set, no history is kept.
      - A results directory or a C(.sqlite) file on the controller (SQLite), or a PostgreSQL database that several
        controllers or job slices share, as C(postgresql://USER@HOST:PORT/DB). Its schema is created or migrated
        on first use; each sample is stored once however many controllers write it.
      - Give the PostgreSQL password through the environment of the controller process (E(PGPASSWORD), or a
        C(~/.pgpass) file), which an AWX credential can inject; a password inside the URL (for example from a
        vaulted variable) works too and is shown as C(***) in every message.
      - A database that is down or refuses the credentials fails the task before any host is audited. One lost
        during the audit fails the task after every host's result is saved, naming the hosts missing from it.
      - The playbooks pass the variable C(winremedy_history_url).
    type: str
"""
