"""Generated sample traffic for `inboxwatch demo` and the benchmarks."""
