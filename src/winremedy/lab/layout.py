"""The files of a lab directory, named once for ``winremedy lab`` and the daemon it starts."""

LAB_JSON = "lab.json"  # the running daemon: pid, control port and token
FLEET_YML = "fleet.yml"  # the fleet it emulates, as given or generated
INVENTORY_YML = "inventory.yml"  # the Ansible inventory of its hosts
LOG = "lab.log"  # the daemon's stderr
REPO_DIR = "repo"  # the lab's package repository: every host sees it as a share, and it is served over HTTP
