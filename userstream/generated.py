"""Names for Python source generated at start-up, shared by the compiled Avro reader and writer."""

from __future__ import annotations


class GeneratedNames:
    """The names a generated function refers to, and a counter that keeps new names unique."""

    def __init__(self, names: dict):
        self.names = dict(names)
        self._count = 0

    def constant(self, value) -> str:
        """Return a new name bound to `value` in the generated function's globals."""
        self._count += 1
        name = f"_constant{self._count}"
        self.names[name] = value
        return name

    def local(self) -> str:
        """Return a new local variable name."""
        self._count += 1
        return f"_local{self._count}"
