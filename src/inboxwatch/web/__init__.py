"""The HTTP service: health checks, ESP webhook receivers, the REST API and Prometheus metrics."""
