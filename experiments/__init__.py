"""Experiment arms, assignment and analytics (see the experiments issue)."""
