"""Reports: interval statistics from the event log, CSV/Excel, queue_log export, metrics."""
