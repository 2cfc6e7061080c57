"""The long-running process and the jobs it runs, each also callable once from the command line."""
