"""``winremedy repo add | scan | list | sync``: keep a repository of verified hotfix packages.

Exit codes: 0 done; 1 ``scan`` refused at least one file (the others are in the
manifest); 2 a refusal or error that changed nothing (one line naming file and reason).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import RepoError
from .manifest import Entry, load_manifest
from .repository import add, scan
from .signature import ROOTS
from .sync import sync


def add_repo_commands(subparsers: Any) -> None:
    """Add ``repo`` with its ``add``, ``scan``, ``list`` and ``sync`` subcommands."""
    repo = subparsers.add_parser("repo", help="a repository of hotfix packages, verified by their content")
    repo.set_defaults(run=run_repo)
    commands = repo.add_subparsers(dest="repo_command", required=True)
    adding = commands.add_parser("add", help="verify packages and copy them into the repository")
    adding.add_argument("files", nargs="+", type=Path, metavar="FILE")
    adding.add_argument("--repo", type=Path, required=True, metavar="DIR")
    scanning = commands.add_parser("scan", help="rebuild the manifest from the packages in a directory")
    scanning.add_argument("directory", type=Path, metavar="DIR")
    for command in (adding, scanning):
        command.add_argument("--trusted-roots", type=Path, metavar="PEM",
                             help="code-signing roots every package's Authenticode signature must chain to (kept in "
                                  f"the repository as {ROOTS}; production: Microsoft's roots)")
    listing = commands.add_parser("list", help="the packages in the manifest")
    listing.add_argument("--repo", type=Path, required=True, metavar="DIR")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    syncing = commands.add_parser("sync", help="copy the repository to a distribution server over SSH")
    syncing.add_argument("--repo", type=Path, required=True, metavar="DIR")
    syncing.add_argument("--to", required=True, metavar="URL", help="ssh://user@host[:port]/absolute/path")
    syncing.add_argument("--identity", type=Path, metavar="KEY", help="private key (default: agent and ~/.ssh keys)")
    syncing.add_argument("--known-hosts", type=Path, metavar="FILE", help="known_hosts with the server's key (default: ~/.ssh/known_hosts)")


def run_repo(args: argparse.Namespace) -> int:
    try:
        if args.repo_command == "add":
            entries = add(args.repo, args.files, roots=args.trusted_roots)
            print("\n".join(f"added {_describe(e)}" for e in entries))
            return 0
        if args.repo_command == "scan":
            return _scan(args.directory, args.trusted_roots)
        if args.repo_command == "list":
            print(_listing(load_manifest(args.repo).entries, args.format))
            return 0
        result = sync(args.repo, args.to, args.identity, args.known_hosts)
        print(f"synced to {args.to}: {len(result.uploaded)} uploaded, {len(result.unchanged)} unchanged, manifest written")
        return 0
    except RepoError as error:
        print(f"winremedy repo: {error}", file=sys.stderr)
        return 2


def _scan(directory: Path, roots: Path | None) -> int:
    result = scan(directory, roots=roots)
    for entry in result.manifest.entries:
        print(f"ok       {_describe(entry)}")
    for error in result.refused:
        print(f"refused  {error}")
    print(f"{len(result.manifest.entries)} packages in {directory}, {len(result.refused)} refused")
    return 1 if result.refused else 0


def _describe(entry: Entry) -> str:
    return f"{entry.file}: {entry.kb} {entry.arch} {','.join(entry.os)} {_builds(entry)}"


def _builds(entry: Entry) -> str:
    return ",".join(f"{b.version} SP{b.sp}" for b in entry.builds)


def _listing(entries: tuple[Entry, ...], output: str) -> str:
    if output == "json":
        return json.dumps([e.to_dict() for e in entries], indent=2)
    rows = [("file", "kb", "arch", "os", "builds", "size", "sha256")]
    rows += [
        (e.file, e.kb, e.arch, ",".join(e.os), _builds(e), str(e.size), e.sha256[:16])
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
