"""kpolgen: render Kyverno + VolSync zero-touch backup/restore manifests from one config."""

__version__ = "0.1.0"
