"""Renaming and deleting a workspace's tags. The caller owns the transaction.

A tag's commission rules (kind ``tag``, named by the tag) follow it: a rename carries them
to the new name and a delete removes them, in the same transaction. Tags do not change
where a link goes, so nothing here touches the redirect cache."""

from __future__ import annotations

from collections.abc import Sequence

from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound
from hoplink.links.validation import clean_tags
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace


def _one_tag(name: str, field: str) -> str:
    errors: list[FieldError] = []
    cleaned = clean_tags([name], errors)
    if errors:
        raise InvalidInput([FieldError(field, e.code, e.message) for e in errors])
    return cleaned[0]


async def rename_tag(tx: Tx, *, workspace: Workspace, old: str, new: str) -> str:
    """Rename tag ``old`` to ``new`` on every link that has it, with its commission rule;
    refused when ``new`` is another tag of the workspace already (merging is not renaming)
    or still has a commission rule of its own (which rate would win is not ours to guess)."""
    new = _one_tag(new, "newName")
    repo = tx.tags(workspace.id)
    found = await repo.ids([old, new])
    if old not in found:
        raise NotFound(f"there is no tag {old!r}")
    if new == old:
        return new
    if new in found:
        raise Conflict(f"there is a tag {new!r} already", code="tag_conflict")
    rules = tx.conversions(workspace.id)
    if new in await rules.tag_rule_refs([new]):
        raise Conflict(
            f"there is a commission rule for tag {new!r} already; remove it first",
            code="tag_rule_conflict",
        )
    await repo.rename(found[old], new)
    await rules.rename_tag_rules(old, new)
    return new


async def delete_tags(tx: Tx, *, workspace: Workspace, names: Sequence[str]) -> int:
    """Delete these tags (names the workspace does not have are ignored); how many went."""
    repo = tx.tags(workspace.id)
    found = await repo.ids(list(dict.fromkeys(names)))
    await repo.delete(list(found.values()))
    await tx.conversions(workspace.id).delete_tag_rules(list(found))
    return len(found)
