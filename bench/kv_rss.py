#!/usr/bin/env python3
"""kv_rss.py - the loading and counting half of bench/kv.sh.

  load URL N PREFIX [CONNS]   PUT N distinct keys PREFIX<i> of 100-byte
                              values over CONNS keep-alive connections
                              (default 16); every answer must be `true`
  count URL PREFIX            how many keys cairn holds under PREFIX
                              (GET /v1/kv/PREFIX?keys, a stale read)
  etcd-count URL PREFIX       how many keys etcd holds under PREFIX
                              (POST /v3/kv/range, count_only)

Each prints one number. Only 127/8 addresses are accepted.
Leaves out: HTTPS and ACL tokens.
"""
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse


def die(msg):
    print("kv_rss: " + msg, file=sys.stderr)
    sys.exit(1)


def hostport(url):
    u = urllib.parse.urlsplit(url)
    if not (u.hostname or "").startswith("127."):
        die("refusing a non-loopback address: " + url)
    return u.hostname, u.port or 80


def conn(url, timeout=30):
    host, port = hostport(url)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def request(url, method, path, body=None):
    c = conn(url)
    try:
        c.request(method, path, body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def cmd_load(url, n, prefix, conns="16"):
    n, conns = int(n), int(conns)
    val = b"v" * 100
    errors = []
    lock = threading.Lock()
    nxt = [0]

    def worker():
        c = conn(url)
        while True:
            with lock:
                if errors or nxt[0] >= n:
                    break
                i = nxt[0]
                nxt[0] += 1
            path = "/v1/kv/%s%07d" % (prefix, i)
            try:
                c.request("PUT", path, val)
                r = c.getresponse()
                out = r.read()
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append("%s: %s" % (path, e))
                break
            if r.status != 200 or out != b"true":
                with lock:
                    errors.append("%s: %d %r" % (path, r.status, out[:80]))
                break
        c.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        die("load failed: " + "; ".join(errors[:5]))
    print("kv_rss: %d PUTs in %.1f s" % (n, time.monotonic() - t0),
          file=sys.stderr)
    print(n)


def cmd_count(url, prefix):
    code, out = request(url, "GET", "/v1/kv/%s?keys&stale" %
                        urllib.parse.quote(prefix))
    if code == 404:
        print(0)
        return
    if code != 200:
        die("GET %s?keys: %d %r" % (prefix, code, out[:80]))
    keys = json.loads(out)
    if len(set(keys)) != len(keys):
        die("duplicate keys under %s" % prefix)
    print(len(keys))


def cmd_etcd_count(url, prefix):
    p = prefix.encode()
    end = p[:-1] + bytes([p[-1] + 1])
    body = json.dumps({"key": base64.b64encode(p).decode(),
                       "range_end": base64.b64encode(end).decode(),
                       "count_only": True})
    code, out = request(url, "POST", "/v3/kv/range", body)
    if code != 200:
        die("etcd range %s: %d %r" % (prefix, code, out[:80]))
    print(int(json.loads(out).get("count", 0)))


def main():
    cmds = {"load": cmd_load, "count": cmd_count,
            "etcd-count": cmd_etcd_count}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: kv_rss.py %s ..." % "|".join(cmds))
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
