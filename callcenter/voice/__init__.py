"""Voice: calls from the IVR through the queue engine to agents, over AMI."""
