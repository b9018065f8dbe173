"""A stand-in for the collector's BPF object in unit tests of pure record handling:
poll() drains what a test queued here, as if the ring buffer had delivered it."""
from weft.sensor.ebpf import EbpfCollector


class Ring:
    def __init__(self, collector: EbpfCollector):
        self.collector, self.records = collector, []

    def ring_buffer_consume(self) -> None:
        self.collector._raw.extend(self.records)
        self.records = []
