"""The lab's errors. Each says, for a human, what was expected, what was seen and what to do;
the CLI prints any of them as one line (two for a bad configuration), never a traceback."""


class LabError(RuntimeError):
    """Something the lab could not do."""


class ConfigError(ValueError):
    """A configuration the lab refuses, with what was expected and what was given."""


class CommandError(LabError):
    """A command run in a lab container failed where it had to succeed."""
