#!/usr/bin/env python3
"""dns_probe.py - the generating and counting half of bench/dns.sh.

The shell script starts and stops cairn and dnsmasq and runs dnsperf and
dig; this helper writes their inputs and reads their outputs:

  gen DIR NODES SERVICES INSTANCES
        the data set, in DIR:
          register       one PUT /v1/catalog/register body a line: the
                         NODES nodes ext-0.., then the SERVICES x
                         INSTANCES instances of svc-0.., each with a
                         passing check
          hosts          the same names for dnsmasq's --addn-hosts:
                         <node>.node.consul (and .node.dc1.consul, the
                         SRV targets), <svc>.service.consul and
                         <tag>.<svc>.service.consul, one line per address
          dnsmasq.conf   srv-host= lines for _<svc>._tcp.service.consul
          queries        dnsperf's input: "<name> <type>" a line
          queries-KIND   the lines of one kind (node, service, tag, srv)
          expect.json    per query, the answer records both must give
  check EXPECT DIGOUT
        compare dig's answers (+noall +answer, one batch over the query
        file) with EXPECT; print what is missing or wrong, exit 1 if any
  latency FILE
        read dnsperf -v's per-query lines ("> RCODE name type seconds",
        "> T name type" for a timeout) and print "key value" lines:
        answered, lost, rcodes, and p50/p90/p99/p999/max latency in ms,
        a lost query counting as slower than any answer

Addresses in the data are 127.10/16: records only, never contacted.
Leaves out: AAAA, PTR and prepared-query names (dnsmasq has no peer for
the latter), and answers larger than UDP's 512 bytes (INSTANCES <= 3).
"""
import json
import os
import sys


def die(msg):
    print("dns_probe: " + msg, file=sys.stderr)
    sys.exit(1)


def node_addr(i):
    return "127.10.%d.%d" % (i // 250, i % 250 + 1)


def cmd_gen(d, nodes, services, instances):
    nodes, services, instances = int(nodes), int(services), int(instances)
    if nodes < 1 or services < 1 or not 1 <= instances <= 3:
        die("gen: NODES and SERVICES >= 1, 1 <= INSTANCES <= 3")
    reg, hosts, srv, queries = [], [], [], []
    expect = {}
    for i in range(nodes):
        n, a = "ext-%d" % i, node_addr(i)
        reg.append({"Node": n, "Address": a})
        hosts.append("%s %s.node.consul %s.node.dc1.consul" % (a, n, n))
        q = "%s.node.consul A" % n
        queries.append(q)
        expect[q] = [a]
    svcq, tagq, srvq = [], [], []
    for s in range(services):
        svc = "svc-%d" % s
        addrs, tagged, srvs = [], {}, []
        for k in range(instances):
            i = (s * instances + k) % nodes
            n, a = "ext-%d" % i, node_addr(i)
            sid = "%s-%d" % (svc, k)
            port = 20000 + s * instances + k
            tag = "primary" if k == 0 else "secondary"
            reg.append({"Node": n, "Address": a,
                        "Service": {"ID": sid, "Service": svc,
                                    "Tags": [tag, "v1"], "Port": port},
                        "Check": {"CheckID": "service:" + sid,
                                  "Name": svc + " alive",
                                  "Status": "passing", "ServiceID": sid}})
            hosts.append("%s %s.service.consul %s.%s.service.consul"
                         % (a, svc, tag, svc))
            addrs.append(a)
            tagged.setdefault(tag, []).append(a)
            # Priority and weight 1 1, as Consul's SRV answers give them.
            srv.append("srv-host=_%s._tcp.service.consul,%s.node.dc1.consul,"
                       "%d,1,1" % (svc, n, port))
            srvs.append("%d %s.node.dc1.consul." % (port, n))
        q = "%s.service.consul A" % svc
        svcq.append(q)
        expect[q] = sorted(set(addrs))
        tag = "secondary" if s % 2 and instances > 1 else "primary"
        q = "%s.%s.service.consul A" % (tag, svc)
        tagq.append(q)
        expect[q] = sorted(set(tagged[tag]))
        q = "_%s._tcp.service.consul SRV" % svc
        srvq.append(q)
        expect[q] = sorted(srvs)
    # Nodes first, then the three service kinds interleaved, so that each
    # second of a run sees the same mix.
    for t in zip(svcq, tagq, srvq):
        queries.extend(t)
    with open(os.path.join(d, "register"), "w") as f:
        for r in reg:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    with open(os.path.join(d, "hosts"), "w") as f:
        f.write("\n".join(hosts) + "\n")
    with open(os.path.join(d, "dnsmasq.conf"), "w") as f:
        f.write("\n".join(srv) + "\n")
    with open(os.path.join(d, "queries"), "w") as f:
        f.write("\n".join(queries) + "\n")
    for kind, qs in (("node", queries[:nodes]), ("service", svcq),
                     ("tag", tagq), ("srv", srvq)):
        with open(os.path.join(d, "queries-" + kind), "w") as f:
            f.write("\n".join(qs) + "\n")
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1)
    print("%d registrations, %d hosts lines, %d SRV records, %d queries"
          % (len(reg), len(hosts), len(srv), len(queries)))


def dig_answers(path):
    """{"name type": sorted rdata} from dig +noall +answer output."""
    got = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 5 or w[0].startswith(";") or w[2] != "IN":
                continue
            name, typ = w[0].rstrip(".").lower(), w[3]
            if typ == "A":
                rd = w[4]
            elif typ == "SRV" and len(w) >= 8:
                rd = "%s %s" % (w[6], w[7].lower())
            else:
                continue
            got.setdefault("%s %s" % (name, typ), set()).add(rd)
    return got


def cmd_check(expect_path, dig_path):
    with open(expect_path) as f:
        expect = json.load(f)
    got = dig_answers(dig_path)
    bad = 0
    for q, want in expect.items():
        name, typ = q.split()
        have = sorted(got.get("%s %s" % (name.lower(), typ), ()))
        if have != want:
            bad += 1
            if bad <= 10:
                print("  %s: want %s, got %s" % (q, " ".join(want),
                                                 " ".join(have) or "nothing"))
    if bad:
        print("  %d of %d names answered wrongly" % (bad, len(expect)))
        sys.exit(1)
    print("all %d names answered as expected" % len(expect))


def pct(lat, p):
    """The p-th percentile (nearest rank) of a sorted list."""
    if not lat:
        return float("inf")
    i = max(0, min(len(lat) - 1, int(-(-p * len(lat) // 100)) - 1))
    return lat[i]


def cmd_latency(path):
    lat, lost, rcodes = [], 0, {}
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("> "):
                continue
            w = line.split()
            if w[1] in ("T", "I"):
                lost += 1
                continue
            rcodes[w[1]] = rcodes.get(w[1], 0) + 1
            try:
                lat.append(float(w[-1]) * 1000.0)
            except ValueError:
                die("latency: no latency in: " + line.strip())
    if not lat:
        die("latency: no per-query lines in " + path)
    lat.sort()
    # A lost query is slower than every answer: it sits at the top.
    full = lat + [float("inf")] * lost
    print("answered %d" % len(lat))
    print("lost %d" % lost)
    print("rcodes %s" % ",".join("%s:%d" % kv for kv in sorted(rcodes.items())))
    for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
        print("%s %.3f" % (name, pct(full, p)))
    print("max %.3f" % full[-1])


def main():
    cmds = {"gen": (cmd_gen, 4), "check": (cmd_check, 2),
            "latency": (cmd_latency, 1)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: gen|check|latency ...")
    fn, n = cmds[sys.argv[1]]
    args = sys.argv[2:]
    if len(args) != n:
        die("%s: wrong number of arguments" % sys.argv[1])
    fn(*args)


if __name__ == "__main__":
    main()
