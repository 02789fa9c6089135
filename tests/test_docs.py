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


def test_install_instructions_name_this_version():
    """pip's `@vX.Y.Z`, pre-commit's `rev:` and the changelog follow kpolgen.__version__."""
    import re

    from kpolgen import __version__

    readme = (ROOT / "README.md").read_text("utf-8")
    tags = re.findall(r"@(v\d+\.\d+\.\d+)|rev: (v\d+\.\d+\.\d+)", readme)
    assert tags and {a or b for a, b in tags} == {f"v{__version__}"}
    assert "pip install 'git+<kpolgen-repo>@v" in readme  # one placeholder for the repository
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert f"\n## {__version__}\n" in changelog
