"""How long work reports its progress: one callable, ``progress(done, total, label="")``.

A function that takes a ``progress`` argument calls it with the number of units finished so far
(``done``, from 0 up to ``total``, never decreasing) and may name the unit being worked on
(``label``); it calls it with ``done == total`` when it has finished. ``None`` reports nothing.
:class:`ProgressBar` is the callable the command line passes: a tqdm bar on stderr.

>>> seen = []
>>> def record(done, total, label=""):
...     seen.append((done, total, label))
>>> for k, name in enumerate(["a", "b"]):
...     record(k, 2, name)
>>> record(2, 2)
>>> seen
[(0, 2, 'a'), (1, 2, 'b'), (2, 2, '')]
"""

from __future__ import annotations

import sys
from typing import Protocol, runtime_checkable

__all__ = ["Progress", "ProgressBar", "check_progress"]


@runtime_checkable
class Progress(Protocol):
    """Anything called as ``progress(done, total, label="")`` (see the module docstring)."""

    def __call__(self, done: int, total: int, label: str = "") -> None: ...


def check_progress(name: str, progress) -> Progress | None:
    """Return ``progress`` after checking that it is ``None`` or callable.

    Raises
    ------
    TypeError
        Naming ``name`` and the type found.

    Examples
    --------
    >>> check_progress("progress", None) is None
    True
    >>> try:
    ...     check_progress("progress", 3)
    ... except TypeError as exc:
    ...     print(exc)
    progress must be None or a callable progress(done, total, label), got int
    """
    if progress is not None and (not callable(progress) or isinstance(progress, type)):
        raise TypeError(f"{name} must be None or a callable progress(done, total, label), "
                        f"got {type(progress).__name__}")
    return progress


class ProgressBar:
    """A :class:`Progress` shown as a tqdm bar on stderr, with tqdm's rate and time left.

    The bar opens at the first call (starting at its ``done``, so units resumed from earlier work
    count), advances by the difference of successive ``done`` values, shows ``label`` after the
    count (unless it repeats ``desc``), and closes when ``done`` reaches ``total`` or on :meth:`close`. Use it as a context
    manager so that it closes on an error too.

    Parameters
    ----------
    desc : str
        The text before the bar.
    unit : str, default "it"
        What is counted.
    file : file object, default ``sys.stderr``

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with ProgressBar("demo", unit="step", file=out) as bar:
    ...     for k in range(3):
    ...         bar(k, 3, f"step {k}")
    ...     bar(3, 3)
    >>> "3/3" in out.getvalue()
    True
    """

    def __init__(self, desc: str, *, unit: str = "it", file=None):
        if not isinstance(desc, str):
            raise TypeError(f"desc must be a string, got {type(desc).__name__}")
        if not isinstance(unit, str) or not unit:
            raise TypeError(f"unit must be a non-empty string, got {unit!r}")
        self.desc, self.unit = desc, unit
        self._file = sys.stderr if file is None else file
        self._bar = None
        self._done = 0
        self._closed = False

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if self._closed:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, desc=self.desc, unit=self.unit, file=self._file)
            self._done = done
        if label and label != self.desc:
            self._bar.set_postfix_str(label, refresh=False)
        if done > self._done:
            self._bar.update(done - self._done)
            self._done = done
        else:
            self._bar.refresh()
        if done >= total:
            self.close()

    def close(self) -> None:
        """Close the bar (nothing happens if it is closed or never opened)."""
        if self._bar is not None and not self._closed:
            self._bar.close()
        self._closed = True

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
