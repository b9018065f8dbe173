"""The sensor issuer: each node's sensor certificate, issued off the node to the node
the Kubernetes API server says the asking pod runs on (`python -m weft.sensor.issuer`;
the sensor's initContainer asks with `python -m weft.cli.sensor_cert --issuer`)."""
