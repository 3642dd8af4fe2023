"""The shop's AWS infrastructure: one CDK stack per Chalice stage (dev, prod)."""
