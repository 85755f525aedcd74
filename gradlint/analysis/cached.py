"""`cached_property` without a lock.

`functools.cached_property` before Python 3.12 computes under one lock per property, shared by
every instance of the class: two threads computing nested properties of different objects (a
role's `why` whose text asks another role's `explanation`, and the other way round) each hold
one lock and wait for the other's, for ever. An editor's server, or any caller checking files on
several threads, could hang so. This one keeps no lock: two threads may compute the same value
at once, and since the analysis is deterministic either result is the right one to keep.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Optional, TypeVar, overload

T = TypeVar("T")


class cached_property(Generic[T]):  # noqa: N801 - named as the functools descriptor it replaces
    """A value computed on first access and kept in the instance's `__dict__`."""

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name: Optional[str] = None
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: Optional[type] = None) -> "cached_property[T]": ...

    @overload
    def __get__(self, instance: object, owner: Optional[type] = None) -> T: ...

    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.name] = value  # found before this descriptor from now on
        return value
