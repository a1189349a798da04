"""A channel's topic tree, checked: one root, every node once, no loops."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from content.errors import PackError
from content.kolibri.database import ChannelData, Node

MAX_TOPIC_DEPTH = 10  # deeper topics are folded into their ancestor at this depth


@dataclass
class Tree:
    root: Node
    children: dict[str, list[Node]]  # node id -> its children, in Kolibri's order

    def walk(self, node: Node, depth: int = 0) -> Iterator[tuple[Node, int]]:
        """Each descendant of `node` with its depth below the root, depth-first."""
        pending = [(child, depth + 1) for child in reversed(self.children.get(node.id, []))]
        while pending:
            current, level = pending.pop()
            yield current, level
            kids = self.children.get(current.id, [])
            pending.extend((child, level + 1) for child in reversed(kids))


def build_tree(data: ChannelData, name: str) -> Tree:
    """The checked tree; PackError if a node is listed twice, the root is missing, or
    parents form a loop anywhere."""
    by_id: dict[str, Node] = {}
    for node in data.nodes:
        if node.id in by_id:
            raise PackError(f"{name} lists node {node.id} twice; it is not a Kolibri channel.")
        by_id[node.id] = node
    root = by_id.get(data.channel.root_id)
    if root is None or root.kind != "topic":
        raise PackError(f"{name} has no root topic {data.channel.root_id}; it is damaged.")
    if root.parent_id is not None:
        raise PackError(f"{name} has a loop in its topic tree (its root has a parent).")
    _refuse_loops(by_id, root.id, name)
    children: dict[str, list[Node]] = {}
    for node in by_id.values():
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node)
    for kids in children.values():
        kids.sort(key=lambda node: (node.order[1], node.order[0], node.id))
    return Tree(root, children)


def _refuse_loops(by_id: dict[str, Node], root_id: str, name: str) -> None:
    """Follow each node's parents up; meeting the path itself again is a loop."""
    settled = {root_id}
    for start in by_id:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current not in settled and current in by_id:
            if current in on_path:
                raise PackError(
                    f"{name} has a loop in its topic tree (at node {current}); "
                    "it is not a Kolibri channel."
                )
            path.append(current)
            on_path.add(current)
            current = by_id[current].parent_id
        settled.update(path)
