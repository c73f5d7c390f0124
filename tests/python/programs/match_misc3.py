# physdev, time, u32, connlimit, helper, policy, devgroup, socket, rpfilter, cpu, quota, connbytes.
import iptc
from _observe import match_builder as build
from _observe import roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("Y")
mangle = iptc.Table(iptc.Table.MANGLE)
mchain = mangle.create_chain("MY")


roundtrip("physdev", chain, build("physdev", physdev_in="eth0", physdev_is_bridged=""))
roundtrip("time", chain, build("time", timestart="08:00", timestop="17:30", weekdays="Mon,Tue"))
roundtrip("time utc", chain, build("time", datestart="2020-01-01T00:00:00", kerneltz="", monthdays="1,15"))
roundtrip("time neg wd", chain, build("time", weekdays="!Sa,Su"))
roundtrip("u32", chain, build("u32", u32="0>>22&0x3C@12>>26&0x3F=0x10"))
roundtrip("u32 neg", chain, build("u32", u32="!0&0xFFFF=0x100:0xFFFF"))
roundtrip("connlimit", chain, build("connlimit", proto="tcp", connlimit_above="10"))
roundtrip("connlimit upto", chain, build("connlimit", connlimit_upto="5", connlimit_mask="24", connlimit_daddr=""))
roundtrip("helper", chain, build("helper", helper="ftp"))
roundtrip("helper neg", chain, build("helper", helper="!sip"))
roundtrip("policy", chain, build("policy", dir="in", pol="none"))
roundtrip("devgroup", chain, build("devgroup", src_group="1"))
roundtrip("quota", chain, build("quota", quota="1000"))
roundtrip("connbytes", chain, build("connbytes", connbytes="10:", connbytes_dir="both", connbytes_mode="bytes"))
roundtrip("cpu", chain, build("cpu", cpu="0"))
roundtrip("socket", mchain, build("socket", target="ACCEPT"))
roundtrip("socket transparent", mchain, build("socket", transparent="", nowildcard=""))
roundtrip("tcpmss match", chain, build("tcpmss", proto="tcp", mss="1400:1500"))
roundtrip("realm", chain, build("realm", realm="0x10/0xff"))
roundtrip("unknown match", chain, build("nosuchmatch"))
roundtrip("case match", chain, build("TCP"))
