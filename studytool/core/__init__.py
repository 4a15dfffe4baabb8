"""The UI-free domain of studytool: store, scheduling, import, study sessions.

Nothing under ``studytool.core`` imports Textual or the ML stack.
"""
