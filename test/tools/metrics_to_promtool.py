#!/usr/bin/env python3
"""Turns one scrape of serve's /metrics into a `promtool test rules` file: every sample becomes
an input series held constant for 40 minutes, labelled the way a Prometheus scrape labels it
(serve's `job` label -> exported_job, plus instance and the scrape job), and the test expects
exactly the given alerts to fire at eval_time 10m (annotations rendered from the rules file).

usage: metrics_to_promtool.py METRICS RULES OUT INSTANCE ALERT=firing|none ...
"""
import re
import sys

import yaml

metrics, rules_path, out, instance = sys.argv[1:5]
expect = dict(a.split("=", 1) for a in sys.argv[5:])
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
series = []
for line in open(metrics):
    if line.startswith("#") or not line.strip():
        continue
    m = sample.match(line.strip())
    if not m:
        sys.exit(f"cannot parse sample line: {line!r}")
    name, _, lbls, value = m.groups()
    labels = {("exported_job" if k == "job" else k): v for k, v in label.findall(lbls or "")}
    labels.update(instance=instance, job="registry-sync")
    value = {"+Inf": "Inf", "-Inf": "-Inf", "NaN": "NaN"}.get(value, value)
    sel = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    series.append({"series": f"{name}{{{sel}}}", "values": f"{value}+0x40"})

rules = {r["alert"]: r for g in yaml.safe_load(open(rules_path))["groups"] for r in g["rules"]}
tests = []
for alert, state in expect.items():
    r = rules[alert]
    exp = []
    if state == "firing":
        lbl = {"instance": instance, "job": "registry-sync", **r.get("labels", {})}
        ann = {k: v.replace("{{ $labels.instance }}", instance) for k, v in r.get("annotations", {}).items()}
        if any("{{" in v for v in ann.values()):
            sys.exit(f"{alert}: annotations use templates this tool does not render")
        exp.append({"exp_labels": lbl, "exp_annotations": ann})
    tests.append({"eval_time": "10m", "alertname": alert, "exp_alerts": exp})
doc = {"rule_files": [rules_path], "evaluation_interval": "1m",
       "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}]}
with open(out, "w") as f:
    yaml.safe_dump(doc, f, sort_keys=False)
