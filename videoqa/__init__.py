"""videoqa: video question answering toolkit.

The package root stays light: importing :mod:`videoqa` loads neither torch nor
PyAV. Components live in subpackages (``video``, ``encoders``, ``modules``,
``models``, ``losses``, ``data``, ``metrics``, ``perception``, ``training``,
``eval``, ``pipelines``); entry points (``cli``, recipes) sit on top of them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
