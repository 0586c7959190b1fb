"""The `streambound` command line: click commands and the plotting they call."""
