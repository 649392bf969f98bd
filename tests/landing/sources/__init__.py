"""API/SQL source tests (a package, so this folder's conftest never shadows ``tests/landing``'s
``conftest`` module that sibling tests import by name)."""
