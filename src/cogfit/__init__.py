"""cogfit: hierarchical Bayesian fitting of behavioural models with NumPyro."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cogfit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from cogfit.errors import CogfitError, ConfigError, DataError

__all__ = ["CogfitError", "ConfigError", "DataError", "__version__"]
