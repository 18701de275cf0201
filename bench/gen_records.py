#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes N realistic Fluent Bit Kubernetes records (one JSON object per
line), as KubeSphere's Fluent Bit sends them to Kafka: WordPress, nginx and
MySQL pods in a few namespaces, docker (`log`) and CRI (`message`) records,
Apache and nginx access-log lines with realistic statuses, sizes, paths and
agents, and non-access lines. About --alerting (default 1%) of the records
are 404s of a wordpress-v1 pod in demo-project, the logs-handler's default
rule: of three pods (bounded keys: three flood groups), or of --pods N pods
(N groups: a new key for each pod, the most a rule can open). Deterministic
for a given --seed.

    gen_records.py N [--alerting 0.01] [--pods 3] [--seed 1] > records.jsonl
"""

import argparse
import json
import random
import sys

AGENTS = ["curl/7.58.0", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "kube-probe/1.27", "Go-http-client/1.1", "Wget/1.21.3", "python-requests/2.31.0"]
PATHS = ["/", "/wp-login.php", "/wp-admin/", "/index.php?p=42", "/wp-content/themes/twentyone/style.css",
         "/wp-json/wp/v2/posts", "/feed/", "/2021/08/hello-world/", "/favicon.ico", "/healthz",
         "/wp-includes/js/jquery/jquery.min.js", "/search?q=404+page", "/robots.txt"]
MISSING = ["/notfound", "/old-page.html", "/wp-content/uploads/2020/01/missing.png", "/.env", "/admin.php",
           "/api/v1/users/404"]
OTHER_LINES = [
    "[Wed Aug 25 01:54:36.123456 2021] [php7:notice] [pid 42] [client 10.0.0.9:51234] PHP Notice:  Undefined index: id in /var/www/html/index.php on line 404",
    "2021-08-25T01:54:36.000000Z 0 [Note] mysqld: ready for connections. Version: '5.7.35'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306",
    "2021/08/25 01:54:36 [error] 29#29: *404 open() \"/usr/share/nginx/html/x\" failed (2: No such file or directory)",
    "I0825 01:54:36.226757       1 controller.go:404] Synced 404 objects in 12ms",
]


def rand_id(rng, n):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def client(rng):
    if rng.random() < 0.1:
        return "2001:db8::%x" % rng.randrange(1, 65535)
    return "%d.%d.%d.%d" % (rng.randrange(1, 255), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


def access_line(rng, t, status, path, nginx):
    size = "-" if status == 304 and not nginx else str(rng.randrange(0, 60000) if status != 304 else 0)
    stamp = "%02d/Aug/2021:%02d:%02d:%02d +0000" % (25, t // 3600 % 24, t // 60 % 60, t % 60)
    method = rng.choice(["GET"] * 8 + ["POST", "HEAD"])
    proto = rng.choice(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/2.0"])
    return '%s - - [%s] "%s %s %s" %d %s "%s" "%s"' % (
        client(rng), stamp, method, path, proto, status, size,
        rng.choice(["-", "https://blog.example.com/", "https://www.google.com/"]), rng.choice(AGENTS))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("--alerting", type=float, default=0.01)
    ap.add_argument("--pods", type=int, default=3, help="wordpress-v1 pods the alerting records come from")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    wp_pods = ["wordpress-v1-%s-%s" % (rand_id(rng, 9), rand_id(rng, 5)) for _ in range(3)]
    pods = [("demo-project", p, "container-" + rand_id(rng, 6), "wordpress:4.8-apache") for p in wp_pods]
    alerting = pods[:3]
    if args.pods != 3:
        alerting = [("demo-project", "wordpress-v1-%s-%s" % (rand_id(rng, 9), rand_id(rng, 5)),
                     "container-" + rand_id(rng, 6), "wordpress:4.8-apache") for _ in range(args.pods)]
    pods += [("demo-project", "mysql-v1-0", "mysql", "mysql:5.7"),
             ("web", "nginx-7c5ddbdf54-x2x9q", "nginx", "nginx:1.25"),
             ("web", "wordpress-v2-6d4f8b7c9-abcde", "wordpress", "wordpress:6.4-apache"),
             ("kube-system", "coredns-5d78c9869d-8xk2p", "coredns", "coredns:1.10.1")]
    out = sys.stdout
    base = 1629856477.226758
    for i in range(args.count):
        t = base + i * 0.001
        if rng.random() < args.alerting:
            ns, pod, container, image = rng.choice(alerting)
            line = access_line(rng, int(t), 404, rng.choice(MISSING), False)
        else:
            ns, pod, container, image = rng.choice(pods)
            if image.startswith(("mysql", "coredns")) or rng.random() < 0.05:
                line = rng.choice(OTHER_LINES)
            else:
                status = rng.choice([200] * 40 + [301, 302, 304, 304, 400, 403, 500, 503])
                line = access_line(rng, int(t), status, rng.choice(PATHS), image.startswith("nginx"))
                if not pod.startswith("wordpress-v1") and rng.random() < 0.05:
                    line = access_line(rng, int(t), 404, rng.choice(MISSING), image.startswith("nginx"))
        k8s = {"pod_name": pod, "namespace_name": ns, "container_name": container,
               "docker_id": rand_id(rng, 64), "container_image": image}
        if rng.random() < 0.5:  # docker json-file parser
            record = {"@timestamp": round(t, 6), "log": line + "\n", "time": "2021-08-25T%02d:%02d:%02d.%09dZ" % (
                int(t) // 3600 % 24, int(t) // 60 % 60, int(t) % 60, int((t % 1) * 1e9)), "kubernetes": k8s}
        else:  # CRI parser
            record = {"@timestamp": round(t, 6), "message": line, "stream": "stdout", "logtag": "F",
                      "kubernetes": k8s}
        out.write(json.dumps(record, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
