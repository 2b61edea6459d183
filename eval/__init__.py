"""Evaluation: golden set, ragas suite, retrieval metrics, quality gate, report, benchmark."""
