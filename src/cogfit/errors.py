"""One exception family, so scripts can print a single clear line and stop."""


class CogfitError(Exception):
    """Base class: the message is meant to be shown to the user as it is."""


class DataError(CogfitError):
    """Raw or cleaned data do not have the shape or values cogfit expects."""


class ConfigError(CogfitError):
    """The configuration names something that does not exist or cannot work."""
