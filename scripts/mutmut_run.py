"""
Runs mutmut (3.8) so that it also mutates ``@cached_property`` methods (scripts/mutation.sh calls it).

mutmut skips every decorated function but ``@staticmethod`` / ``@classmethod``, because it copies the function,
decorators included, for each mutant. The hook keeps most of its set-up in ``@cached_property`` methods
(``conn_params``, ``session``, ``_pool``...), so a plain run would leave them out of the measurement. Here the
trampoline keeps the decorator and the copies lose it: the cached property caches what the active copy returns.
"""

from __future__ import annotations

import sys
from typing import Any

import libcst as cst
from mutmut.__main__ import cli
from mutmut.mutation import file_mutation

_ALLOWED = "cached_property"


def _is_cached_property(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.FunctionDef)
        and len(node.decorators) == 1
        and isinstance(node.decorators[0].decorator, cst.Name)
        and node.decorators[0].decorator.value == _ALLOWED
    )


_skip = file_mutation.MutationVisitor._skip_node_and_children


def _skip_node_and_children(self: Any, node: cst.CSTNode) -> bool:
    if _is_cached_property(node):
        assert isinstance(node, cst.FunctionDef)
        position = self.get_metadata(file_mutation.PositionProvider, node, None)
        ignored = position is not None and position.start.line in self._ignored_node_lines
        return ignored or node.name.value in file_mutation.NEVER_MUTATE_FUNCTION_NAMES
    return bool(_skip(self, node))


_arrange = file_mutation.function_trampoline_arrangement


def _function_trampoline_arrangement(function: cst.FunctionDef, *args: Any, **kwargs: Any) -> Any:
    declarations, methods, assignments, names = _arrange(function, *args, **kwargs)
    if _is_cached_property(function):
        # methods[0] is the trampoline (keeps the decorator); the original's copy and the mutants are plain methods
        methods = [methods[0], *(m.with_changes(decorators=[]) for m in methods[1:])]
    return declarations, methods, assignments, names


file_mutation.MutationVisitor._skip_node_and_children = _skip_node_and_children  # type: ignore[method-assign]
file_mutation.function_trampoline_arrangement = _function_trampoline_arrangement  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(cli())
