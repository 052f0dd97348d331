"""Answering a question: text normalisation, segmentation, the knowledge base, the matcher and the semantic check."""
