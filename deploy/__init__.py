"""Running several instances behind nginx: config, process control, the scale CLI."""
