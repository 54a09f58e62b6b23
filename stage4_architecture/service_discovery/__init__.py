"""service_discovery: register, heartbeat, watch and balance over etcd (and Consul)."""
