"""Everything that imports torch or sentence-transformers; imported lazily by the rest of studytool."""
