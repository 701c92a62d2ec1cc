"""The zones package's own error: a geometry that cannot be used, with the reason in words."""


class ZoneError(ValueError):
    """A zone (file, geometry, CRS, radius…) was refused; the message says why and what to do."""
