"""The README's generated sections match their sources."""

from conftest import ROOT

from kpolgen.docs import update


def test_readme_generated_sections_are_current():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert update(readme) == readme, "run: python scripts/update_readme.py"


def test_readme_documents_every_config_key():
    readme = (ROOT / "README.md").read_text("utf-8")
    for key in ("kyverno.version", "kyverno.engine", "restore.mode", "bridge.kind",
                "s3.prefix", "credentials.secretName", "naming.destinationSuffix"):
        assert f"`{key}`" in readme
