"""Policy Q&A assistant for cadres: answers from a corpus of policy documents, citing the exact clause."""

__version__ = "0.1.0"
