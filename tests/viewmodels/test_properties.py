"""Every Property a viewmodel declares reaches Qt's meta-object, so QML can bind to it.

PySide drops a property whose type it cannot register (a model class not exposed to QML, for
example) with only a warning; QML then sees ``undefined`` and shows an empty view.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from PySide6.QtCore import Property, QObject

import viewmodels


def _viewmodel_classes() -> list[type[QObject]]:
    classes: dict[str, type[QObject]] = {}
    for info in pkgutil.iter_modules(viewmodels.__path__):
        module = importlib.import_module(f"viewmodels.{info.name}")
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, QObject) and cls.__module__ == module.__name__:
                classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(classes.values())


def test_every_declared_property_has_a_type_qt_knows() -> None:
    checked = 0
    missing = []
    for cls in _viewmodel_classes():
        meta = cls.staticMetaObject
        for name, value in vars(cls).items():
            if isinstance(value, Property):
                checked += 1
                index = meta.indexOfProperty(name)
                if index < 0 or not meta.property(index).metaType().isValid():
                    missing.append(f"{cls.__qualname__}.{name}")
    assert checked > 50  # the viewmodels were found
    assert missing == []
