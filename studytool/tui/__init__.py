"""The Textual app: thin screens over ``studytool.core``."""
