"""/metrics text: what an external Prometheus parses must be exactly what was collected."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from opsplan.metrics import Sample, counter, gauge, labels_of, sample
from opsplan.metrics.exposition import LatestSamples

CATALOGUE = {
    "opsplan_disk_usage_ratio": gauge("Used share of the filesystem", "mountpoint"),
    "opsplan_network_receive_bytes_total": counter("Bytes received", "interface"),
    "opsplan_gpu_info": gauge("GPU identity", "gpu", "name"),
}


def test_prometheus_parses_every_sample_back_with_type_help_and_escaped_labels():
    latest = LatestSamples(CATALOGUE)
    latest.update([
        sample("opsplan_disk_usage_ratio", 0.8125, mountpoint="/"),
        sample("opsplan_disk_usage_ratio", 0.5, mountpoint='/mnt/we"ird\\path\nx'),
        sample("opsplan_network_receive_bytes_total", 12345678901234, interface="eth0"),
        Sample("opsplan_gpu_info", 1.0, labels_of(gpu=0, name="NVIDIA RTX 4000 Ada Generation")),
        sample("opsplan_unlisted", float("nan")),
    ])
    families = {f.name: f for f in text_string_to_metric_families(latest.render().decode())}
    disk = families["opsplan_disk_usage_ratio"]
    assert disk.type == "gauge" and disk.documentation == "Used share of the filesystem"
    assert {s.labels["mountpoint"]: s.value for s in disk.samples} == {"/": 0.8125, '/mnt/we"ird\\path\nx': 0.5}
    received = families["opsplan_network_receive_bytes"]
    assert received.type == "counter"
    assert received.samples[0].name == "opsplan_network_receive_bytes_total"
    assert received.samples[0].value == 12345678901234
    assert families["opsplan_gpu_info"].samples[0].labels == {"gpu": "0", "name": "NVIDIA RTX 4000 Ada Generation"}
    assert math.isnan(families["opsplan_unlisted"].samples[0].value)


def test_an_empty_cycle_renders_an_empty_page():
    assert LatestSamples(CATALOGUE).render() == b""
