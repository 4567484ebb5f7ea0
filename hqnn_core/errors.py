"""The project's exception types: every error a user can cause is an ``HqnnError``."""

from __future__ import annotations


class HqnnError(Exception):
    """Base class of every error hqnn raises on purpose; its message is one clear sentence."""


class ConfigError(HqnnError, ValueError):
    """A configuration that cannot work (unknown key, impossible value)."""


class ShapeError(HqnnError, ValueError):
    """A tensor of the wrong shape was passed to a layer or model."""


class ResourceError(HqnnError, MemoryError):
    """A request would need more memory or qubits than is sane here."""


class DataError(HqnnError):
    """A dataset or an image could not be read or downloaded."""


class BackendError(HqnnError):
    """A quantum backend is unavailable, misconfigured or failed."""


class MissingDependencyError(HqnnError, ImportError):
    """An optional package is needed for this feature; the message says what to install."""


class RunError(HqnnError):
    """A run folder is missing, incomplete or cannot be written."""
