"""The `inboxwatch` command. Thin: it parses options and calls lower layers."""
