"""Pull connectors: bring a source's data into ``landing/`` as delivery files."""
