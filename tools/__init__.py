"""Maintainers' tools: run with ``python -m tools.NAME``. Never shipped to trainees."""
