"""studytool: spaced-repetition study in the terminal for AI-engineering interviews."""

__version__ = "0.1.0"
