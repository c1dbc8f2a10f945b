"""Each package's public names resolve: the lazily loaded ones name a real attribute of the
module ``lazy_loader`` maps them to, so ``__all__`` and that map cannot drift apart."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["sweep.data", "sweep.model", "sweep.search", "sweep.cluster"])
def test_every_public_name_resolves(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018
