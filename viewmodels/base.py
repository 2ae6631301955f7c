"""What every view model shares: one decorator for the error handling of its slots (and
``plural``, for the counts they show).

A slot that QML calls must never let an exception escape: qasync would hand it to
``sys.excepthook`` and the user would see nothing. So every slot (and every task a model spawns
on its own) is written as the plain happy path and decorated with :func:`guarded`, which

- logs the failure with its traceback on the logger of the module the slot lives in, under the
  slot's qualified name only (never its arguments: they may be patient names or IDs);
- tells the user ``"<message>: <exception>"``, by default through the model's
  ``errorOccurred(str)`` signal (the toast), or through ``report`` when the failure belongs in
  place (an editor's inline error, a status line);
- re-raises ``asyncio.CancelledError`` untouched: a cancelled task is not a failure;
- with ``busy=True``, brackets the call in ``self._set_busy(True)`` … ``self._set_busy(False)``,
  the reset coming after the error is reported, however the call ends.

Errors a slot expects (a refused transfer, an invalid port) are still handled in the slot itself,
in their own words; ``guarded`` is for everything else.

It goes *under* qasync's ``@asyncSlot(...)`` (or ``@Slot(...)``), which then wraps the guarded
coroutine function; ``functools.wraps`` keeps the name (the slot's name in the meta-object) and the
signature (which ``asyncSlot`` binds the signal's arguments to)::

    @asyncSlot(str)
    @guarded("Could not save the theme")
    async def setTheme(self, theme: str) -> None: ...
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import string
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])
Report = Callable[[Any, str], None]


def guarded(
    message: str | None, *, busy: bool = False, report: Report | None = None
) -> Callable[[F], F]:
    """Report what a slot (or a spawned task) raises instead of raising it; see the module.

    ``message`` is what the user reads before the exception's own words. It may name the call's
    arguments, ``"Could not delete {name}"``, filled in from the call (checked when the slot is
    defined). ``None``: only log (background work that the next change repeats).
    ``report(self, text)`` replaces ``self.errorOccurred.emit(text)``.
    """

    def decorate(fn: F) -> F:
        if not inspect.iscoroutinefunction(fn) and inspect.iscoroutinefunction(inspect.unwrap(fn)):
            raise TypeError(f"{fn.__qualname__}: put @guarded under @asyncSlot, not over it")
        fields = {name for _text, name, _spec, _conv in string.Formatter().parse(message or "")}
        fields.discard(None)
        # Read only for a message that names arguments (the kiosk defines some fifty slots
        # before its first frame, most naming none).
        signature = inspect.signature(fn) if fields else None
        if signature is not None and (unknown := fields - set(signature.parameters)):
            raise TypeError(f"{fn.__qualname__}: {message!r} names no argument in {unknown}")
        logger = logging.getLogger(fn.__module__)
        what = fn.__qualname__

        def failed(exc: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            logger.exception("%s failed", what)
            if message is None:
                return
            text = message
            if signature is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                text = message.format_map(bound.arguments)
            model = args[0]
            if report is not None:
                report(model, f"{text}: {exc}")
            else:
                model.errorOccurred.emit(f"{text}: {exc}")

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                if busy:
                    args[0]._set_busy(True)
                try:
                    return await fn(*args, **kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failed(exc, args, kwargs)
                    return None
                finally:
                    if busy:
                        args[0]._set_busy(False)

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if busy:
                args[0]._set_busy(True)
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                failed(exc, args, kwargs)
                return None
            finally:
                if busy:
                    args[0]._set_busy(False)

        return cast(F, run)

    return decorate


def plural(n: int, word: str, words: str = "") -> str:
    """``n`` and the word for it: "1 study", "2 studies" (``words``; else ``word`` + "s")."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"
