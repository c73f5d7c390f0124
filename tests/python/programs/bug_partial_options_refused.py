# xfail: options set one at a time are judged one at a time (now as python-iptables); what remains: the parameters view of an HMARK still missing --hmark-rnd (python-iptables prints libxtables' data: hmark_src_prefix 32 ...; pytables the options as given)
import iptc
from _observe import attempt


def fill(obj, opts):
    for k, v in opts:
        attempt("%s %s" % (obj.name, k), lambda k=k, v=v: obj.set_parameter(k, v))
    attempt("%s params" % obj.name, lambda: obj.parameters)


fill(iptc.Rule().create_match("statistic"), [("mode", "nth"), ("every", "3"), ("packet", "1")])
fill(iptc.Rule().create_match("cluster"), [("cluster-total-nodes", "2"), ("cluster-local-node", "1"),
                                           ("cluster-hash-seed", "0xdeadbeef")])
fill(iptc.Rule().create_target("HMARK"), [("hmark-tuple", "src,dst"), ("hmark-mod", "10"), ("hmark-offset", "1")])
