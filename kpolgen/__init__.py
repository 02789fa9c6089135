"""kpolgen: render Kyverno + VolSync zero-touch backup/restore manifests from one config."""

__version__ = "0.2.0"
