# easy.batch_* helpers; the final state (not the intermediate one, MIGRATING #5) is compared.
import iptc
from _observe import obs
from iptc import easy

easy.batch_add_chains("filter", ["B1", "B2", "INPUT"])
obs("chains", easy.get_chains("filter"))
easy.add_rule("filter", "INPUT", {"target": "ACCEPT"})
easy.batch_add_chains("filter", ["B1", "INPUT"], flush=True)
obs("input flushed", easy.dump_chain("filter", "INPUT"))
easy.batch_add_rules("filter", [
    ("B1", {"protocol": "tcp", "tcp": {"dport": "1"}, "target": "ACCEPT"}, 0),
    ("B1", {"protocol": "tcp", "tcp": {"dport": "2"}, "target": "ACCEPT"}, 0),
    ("B1", {"protocol": "tcp", "tcp": {"dport": "0"}, "target": "ACCEPT"}, 1),
    ("B2", {"target": "B1"}, 0),
])
obs("after add", easy.dump_table("filter"))
easy.batch_delete_rules("filter", [("B1", {"protocol": "tcp", "tcp": {"dport": "1"}, "target": "ACCEPT"})])
obs("after delete", easy.dump_chain("filter", "B1"))
easy.batch_delete_chains("filter", ["B2", "B1", "NOPE"])
obs("chains after delete", easy.get_chains("filter"))
easy.batch_begin("filter")
obs("batch autocommit", iptc.Table("filter").autocommit)
easy.add_chain("filter", "C1")
easy.add_rule("filter", "C1", {"target": "DROP"})
easy.batch_end("filter")
obs("batch end autocommit", iptc.Table("filter").autocommit)
obs("after batch", easy.dump_table("filter"))
