"""The dashboard: server-rendered pages under `/` and their static files under `/static/`."""
