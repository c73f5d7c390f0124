# Easy.batch_delete_rules that raises partway leaves autocommit False in python-iptables; pytables restores True
# documented: autocommit MIGRATING #29
import iptc
from _observe import attempt, obs
from iptc import easy

easy.add_chain("filter", "B")
attempt("delete missing", lambda: easy.batch_delete_rules("filter", [("B", {"target": "QUEUE"})]))
obs("autocommit", iptc.Table("filter").autocommit)
