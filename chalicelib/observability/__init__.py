"""Cross-cutting observability: X-Ray tracing (tracing.py) and JSON logs (logs.py).

Entry points use it (the HTTP middleware, the jobs' blueprint, resources wrapping the
clients it builds); services and adapters never import it. Importing this package costs
nothing heavy: aws_xray_sdk is imported on the first traced invocation only.
"""
