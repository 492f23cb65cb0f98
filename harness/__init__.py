"""Everything between the CLI and the files: services, runner, results, analysis, reports."""
