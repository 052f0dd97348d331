"""The command line: serving, asking, the staff desk and the weekly report."""
