"""The FastAPI application under test: paired sync and async endpoints per workload family."""
