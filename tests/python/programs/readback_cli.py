# documented-nft: filter MIGRATING #16: iptables-nft merges the repeated tcp matches (-m tcp --dport 25 -m tcp --sport 1000)
# documented-nft: easy-filter MIGRATING #16: iptables-nft merges the repeated tcp matches
# Rules written by the iptables command (another program), read through the API.
import os
import subprocess

import iptc
from _observe import obs, table_view

B = os.environ.get("PYTABLES_BACKEND", "legacy")
rules4 = """*filter
:CLI - [0:0]
:OTHER - [0:0]
-A CLI -s 10.0.0.0/8 -d 1.2.3.4/32 -p tcp -m tcp --sport 1024:65535 --dport 80 -j ACCEPT
-A CLI -s 1.2.3.4/0.0.0.255 -j DROP
-A CLI ! -i eth0 -o wg+ -p udp -m udp ! --dport 53 -j REJECT --reject-with icmp-host-prohibited
-A CLI -p tcp -m multiport --dports 22,80,443 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
-A CLI -m state --state RELATED,ESTABLISHED -j ACCEPT
-A CLI -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP
-A CLI -p icmp -m icmp --icmp-type any -j ACCEPT
-A CLI -f -j DROP
-A CLI -p udplite -j ACCEPT
-A CLI -p 253 -j ACCEPT
-A CLI -p gre -j ACCEPT
-A CLI ! -p udp -j ACCEPT
-A CLI -i + -j ACCEPT
-A CLI -m mark --mark 0x1/0xff -m limit --limit 3/hour -j LOG --log-prefix "x: " --log-level 7
-A CLI -m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name h1 -j ACCEPT
-A CLI -m recent --rcheck --seconds 60 --name DEFAULT --mask 255.255.255.255 --rsource -j DROP
-A CLI -m addrtype --dst-type LOCAL -m pkttype --pkt-type unicast -j ACCEPT
-A CLI -m iprange --src-range 10.0.0.1-10.0.0.9 -j ACCEPT
-A CLI -m time --timestart 08:00:00 --timestop 17:00:00 --weekdays Mon,Tue -j ACCEPT
-A CLI -m u32 --u32 "0x0>>0x16&0x3c@0xc>>0x1a&0x3f=0x10" -j ACCEPT
-A CLI -m length --length 0:100 -m ttl --ttl-lt 10 -j DROP
-A CLI -m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr -j DROP
-A CLI -p tcp -m tcp --dport 25 -m tcp --sport 1000 -j DROP
-A CLI -m statistic --mode random --probability 0.25 -j ACCEPT
-A CLI -p tcp -m tcpmss --mss 1000:1500 -j ACCEPT
-A CLI -j OTHER
-A CLI -g OTHER
-A CLI
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080 --random
-A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1024-2048
-A POSTROUTING -s 192.168.0.0/16 -j SNAT --to-source 1.1.1.1
-A OUTPUT -p tcp -j REDIRECT --to-ports 3128
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j MARK --set-xmark 0x10/0xffffffff
-A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
-A PREROUTING -j TOS --set-tos 0x10/0xff
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A POSTROUTING -j CLASSIFY --set-class 0001:0010
-A POSTROUTING -j DSCP --set-dscp 0x0a
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j CT --notrack
-A OUTPUT -j CT --zone 5
COMMIT
"""
rules6 = """*filter
:C6 - [0:0]
-A C6 -s 2001:db8::1/128 -d 2001:db8::/64 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
-A C6 ! -s fe80::/10 -i eth0 -j REJECT --reject-with icmp6-port-unreachable
-A C6 -p tcp -m tcp --dport 22 -m comment --comment ssh6 -j ACCEPT
-A C6 -m frag --fragid 1:100 -j DROP
-A C6 -m ipv6header --header ipv6-frag --soft -j DROP
COMMIT
"""
p = subprocess.run(["iptables-%s-restore" % B, "--noflush"], input=rules4, text=True, capture_output=True,
                   check=False)
obs("restore4", [p.returncode, p.stderr])
p = subprocess.run(["ip6tables-%s-restore" % B, "--noflush"], input=rules6, text=True, capture_output=True,
                   check=False)
obs("restore6", [p.returncode, p.stderr])
for name in ("filter", "nat", "mangle", "raw"):
    obs(name, table_view(iptc.Table(name)))
obs("filter6", table_view(iptc.Table6("filter")))
from iptc import easy

obs("easy-filter", easy.dump_table("filter"))
obs("easy nat", easy.dump_table("nat"))
obs("easy mangle", easy.dump_table("mangle"))
obs("easy raw", easy.dump_table("raw"))
obs("easy filter6", easy.dump_table("filter", ipv6=True))
