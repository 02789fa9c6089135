"""A committed manifest file that is not readable YAML (reported while loading)."""

from kpolgen.checks.model import Rule

RULE = Rule("KP000", "yaml-syntax", "error",
            "a committed manifest file is not valid YAML",
            "kpolgen could not read the file as YAML, so no other check saw it. Fix the syntax, "
            "or render the file again with `kpolgen render CONFIG -o DIR`.")


def check(_ctx):
    return []
