"""Judging from the history: the verdict of a run or of a system a test drove."""
