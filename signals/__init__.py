"""signals: watch the sources that track the AI infrastructure race, so analysts do not have to."""

__version__ = "0.1.0"
