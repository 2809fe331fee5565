"""The version of pytest-slo, in one place (SARIF and the package read it)."""

__version__ = "0.1.0"
