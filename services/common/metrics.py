"""Prometheus metrics shared by every service (label `service` tells them apart)."""
from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("weft_messages_total", "Bus messages handled", ["service", "subject", "outcome"])
EVENTS = Counter("weft_events_total", "Runtime events handled", ["service"])
DEADLETTERS = Counter("weft_deadletters_total", "Inputs sent to the dead-letter subject", ["origin"])
HANDLE_SECONDS = Histogram("weft_handle_seconds", "Time to handle one bus message", ["service"],
                           buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5))
SENSORS = Gauge("weft_sensors_connected", "Sensors connected to the gateway")
BATCHES = Counter("weft_gateway_batches_total", "Batches received from sensors", ["outcome"])
IDENTITY_REFUSED = Counter("weft_gateway_identity_refused_total",
                           "Sensor streams refused: no sensor identity in the certificate, or a hello, "
                           "batch or event claiming another", ["reason"])
HTTP_REFUSED = Counter("weft_http_refused_total", "HTTP requests refused before their handler",
                       ["service", "status"])
ALERTS_HELD = Counter("weft_detect_alerts_held_total",
                      "detect's alerts not raised one by one: repeats folded into their key's next alert, "
                      "or past the cap per rule and agent (summed in one alert)", ["reason"])
SENSOR_CERTIFICATES = Counter("weft_sensor_certificates_total",
                              "Sensor certificates the issuer signed (outcome issued) or refused "
                              "(outcome: the HTTP status said)", ["outcome"])
INDEX_FACTS = Gauge("weft_detect_index_facts", "Time-stamped facts in detect's entity index (connections, "
                    "accepts, MCP calls, model exchanges, process ids)")
INDEX_SHED = Counter("weft_detect_index_facts_shed_total",
                     "Facts detect's entity index forgot before their retention, being over its budget")
