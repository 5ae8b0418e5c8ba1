"""What the operators watch: the Prometheus metrics of an app (``/metrics``)."""
