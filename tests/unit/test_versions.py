"""Windows versions: parsing, branches, and the fix comparison rules."""

import pytest

from winremedy.errors import VersionError
from winremedy.versions import Branch, FixState, WinVersion, compare_fix

V = WinVersion.parse


@pytest.mark.parametrize("text", ["6.1.7601", "6.1.7601.22590.1", "6.1.7601.x", "", " ", "6.1.7601.70000", "a.b.c.d"])
def test_malformed_versions_are_refused(text):
    with pytest.raises(VersionError, match="Windows version"):
        V(text)


def test_parse_and_format_round_trip():
    assert str(V(" 6.0.6002.22369 ")) == "6.0.6002.22369"
    assert V("6.1.7601.22590").os_version == "6.1.7601"


@pytest.mark.parametrize(
    ("revision", "branch"),
    [(16385, Branch.GDR), (17514, Branch.GDR), (19999, Branch.GDR), (20000, Branch.LDR), (22590, Branch.LDR),
     (22999, Branch.LDR), (23000, Branch.MERGED), (24544, Branch.MERGED), (3959, Branch.NONE), (15999, Branch.NONE)],
)
def test_branch_boundaries(revision, branch):
    assert WinVersion(6, 1, 7601, revision).branch is branch


def test_ordering_is_numeric_not_textual():
    assert V("6.1.7601.9") < V("6.1.7601.10")
    assert sorted([V("6.1.7601.22590"), V("6.0.6002.18005"), V("6.1.7600.16385")])[0] == V("6.0.6002.18005")


@pytest.mark.parametrize(
    ("found", "required", "state"),
    [
        ("6.1.7601.22590", "6.1.7601.22590", FixState.SATISFIED),  # exactly the hotfix
        ("6.1.7601.22700", "6.1.7601.22590", FixState.SATISFIED),  # a later LDR build
        ("6.1.7601.22100", "6.1.7601.22590", FixState.OLDER),  # an earlier LDR build
        ("6.1.7601.23545", "6.1.7601.22590", FixState.SATISFIED),  # post-2016 merged build
        ("6.1.7601.17514", "6.1.7601.22590", FixState.OLDER),  # SP1 base revision predates every hotfix
        ("6.1.7601.18123", "6.1.7601.22590", FixState.OTHER_BRANCH),  # a GDR update: cannot tell
        ("6.1.7600.16385", "6.1.7600.20611", FixState.OLDER),  # RTM base revision
        ("6.1.7600.16481", "6.1.7600.20611", FixState.OTHER_BRANCH),
        ("6.1.7601.17514", "6.1.7600.20611", FixState.SATISFIED),  # an SP1 file against an RTM fix
        ("6.0.6001.22659", "6.0.6002.22369", FixState.OLDER),  # an SP1 file against an SP2 fix
        ("6.0.6002.18005", "6.0.6002.22369", FixState.OLDER),
        ("6.0.6002.18200", "6.0.6002.22369", FixState.OTHER_BRANCH),
        ("6.1.7600.16385", "6.1.7600.16385", FixState.SATISFIED),  # GDR requirement, same version
        ("6.1.7600.16400", "6.1.7600.16385", FixState.SATISFIED),
        ("5.2.3790.3959", "5.2.3790.2000", FixState.SATISFIED),  # no branch convention on 2003
    ],
)
def test_compare_fix(found, required, state):
    assert compare_fix(V(found), V(required)) is state
