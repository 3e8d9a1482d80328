#!/usr/bin/env python3
"""Writes the seed corpora for the camwatch fuzzers (called by fuzz/run.sh).

usage: seeds.py REPO_DIR OUT_DIR

OUT_DIR/<target>/ gets, for fuzz_decoder: every frame of pcaps/*.pcap (classic pcap, either byte
order, micro or nanoseconds) prefixed with the 2-byte "extra wire bytes" the fuzzer reads;
fuzz_mirror_decap: hand-made collector frames of every encapsulation (ERSPAN I, II, III with and
without platform subheader, GRE TEB; over IPv4 and IPv6; GRE with every optional field) and,
when present, every frame of the corpus's GRE captures, with the same 2-byte prefix;
fuzz_capture_file: the pcaps whole, plus ../shared/corpus/{real,malformed} when present;
fuzz_config: config/camwatch.toml and a small file with uplinks; fuzz_state_file: hand-made
valid state files of versions 3, 2 and 1 (docs/STATE_FILE.md).
"""
import hashlib
import os
import shutil
import struct
import sys
import zlib

MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
          b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}


def pcap_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    order = MAGICS.get(data[:4])
    if order is None or len(data) < 24:
        return
    pos = 24
    while pos + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(order + "IIII", data[pos:pos + 16])
        pos += 16
        if pos + caplen > len(data):
            return
        yield data[pos:pos + caplen], wirelen
        pos += caplen


def put(directory, blob):
    path = os.path.join(directory, hashlib.sha1(blob).hexdigest())
    with open(path, "wb") as f:
        f.write(blob)


def mirror_frames():
    """Collector frames of every encapsulation, built here so the seeds exist without the corpus."""
    eth = lambda ethertype, tags=(): (b"\x00\x1b\x21\xaa\x00\x02\x00\x1b\x54\xc2\x00\x01" +
                                      b"".join(struct.pack(">HH", tpid, vid) for tpid, vid in tags) +
                                      struct.pack(">H", ethertype))
    # The mirrored frame: a VMware "Notify Switches" RARP, and a tagged gratuitous ARP.
    vm = bytes.fromhex("005056010203")
    rarp = (b"\xff" * 6 + vm + b"\x80\x35" + struct.pack(">HHBBH", 1, 0x0800, 6, 4, 3) +
            vm + b"\0" * 4 + vm + b"\0" * 4).ljust(60, b"\0")
    garp = (b"\xff" * 6 + vm + struct.pack(">HH", 0x8100, 20) + b"\x08\x06" +
            struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + vm + bytes([10, 0, 0, 5]) + b"\0" * 6 +
            bytes([10, 0, 0, 5])).ljust(60, b"\0")

    def gre(proto, c=False, k=None, s=None):
        flags = (0x80 if c else 0) | (0x20 if k is not None else 0) | (0x10 if s is not None else 0)
        out = struct.pack(">BBH", flags, 0, proto)
        if c:
            out += b"\0" * 4
        if k is not None:
            out += struct.pack(">I", k)
        if s is not None:
            out += struct.pack(">I", s)
        return out

    def erspan2(session, index, vlan=0, t=0):
        return struct.pack(">II", 1 << 28 | vlan << 16 | t << 10 | session, index)

    def erspan3(session, vlan=0, ft=0, platform=None):
        word = 2 << 28 | vlan << 16 | session
        bits = ft << 10 | (1 if platform is not None else 0)
        out = struct.pack(">IIHH", word, 0x12345678, 0, bits)
        if platform is not None:
            pid, first, second = platform
            out += struct.pack(">II", pid << 26 | first, second)
        return out

    def ipv4(body, flags=0):
        header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, flags, 64, 47, 0,
                             bytes([192, 0, 2, 1]), bytes([192, 0, 2, 200]))
        return eth(0x0800) + header + body

    def ipv6(body, ext=b"", first=47):
        return (eth(0x86DD) + struct.pack(">IHBB", 6 << 28, len(ext) + len(body), first, 64) +
                bytes(15) + b"\x01" + bytes(15) + b"\x02" + ext + body)

    yield ipv4(gre(0x88BE) + rarp)
    yield ipv4(gre(0x88BE, k=5) + garp)
    yield ipv4(gre(0x88BE, s=1) + erspan2(101, 43973, vlan=1) + rarp)
    yield ipv4(gre(0x88BE, c=True, k=7, s=2) + erspan2(1023, 0xFFFFF, vlan=4095, t=1) + garp)
    yield ipv4(gre(0x22EB) + erspan3(0, vlan=20) + garp)
    yield ipv4(gre(0x22EB, s=3) + erspan3(12, platform=(3, 0x1234, 0)) + rarp)
    yield ipv4(gre(0x22EB, s=4) + erspan3(101, vlan=865, ft=7) + rarp)
    yield ipv4(gre(0x22EB) + erspan3(9, platform=(1, 0, 0xDEADBEEF)) + rarp)
    yield ipv4(gre(0x6558, k=0x02000000) + rarp)
    yield ipv4(gre(0x6558) + garp, flags=0x2000)  # a first fragment
    yield ipv6(gre(0x6558, k=1) + rarp)
    yield ipv6(gre(0x22EB, s=5) + erspan3(33) + garp,
               ext=bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([47, 0, 0, 0, 0, 0, 0, 7]), first=0)
    yield eth(0x0800, tags=((0x88A8, 7), (0x8100, 8))) + ipv4(gre(0x88BE, s=9) + erspan2(3, 4) + rarp)[14:]


def state_header(version, names, count):
    body = b"CAMWSTAT" + struct.pack("<Iq", version, 1_700_000_000_000_000_000) + struct.pack("<I", len(names))
    for name in names:
        body += struct.pack("<H", len(name)) + name
    return body + struct.pack("<Q", count)


def state_file_v1():
    stations = [
        ((10 << 48) | 0x005056000001, 0, 5, 1_699_999_000_000_000_000, 1_700_000_000_000_000_000, 1),
        (0x005056000002, 1, 1, 1_699_999_500_000_000_000, 1_699_999_600_000_000_000, 0),
    ]
    body = state_header(1, [b"vmnic2", b"vmnic3"], len(stations))
    for key, uplink, frames, first, last, moves in stations:
        body += struct.pack("<QHHIqqII", key, uplink, 0, frames, first, last, moves, 0)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def state_file_v2():
    # key, uplink, flags (bit 0: NLB host), notification kind, moves, last_seen_ns, first_seen_s,
    # last_move_s, notify_s
    stations = [
        ((10 << 48) | 0x005056000001, 0, 0, 1, 2, 1_700_000_000_000_000_000, 1_699_999_000, 1_699_999_900, 1_699_999_899),
        (0x005056000002, 1, 0, 0, 0, 1_699_999_600_000_000_000, 1_699_999_500, 0, 0),
        ((5 << 48) | 0x02010A001464, 1, 1, 3, 255, 1_699_999_700_000_000_000, 1_699_999_100, 1_699_999_650, 1_699_999_640),
    ]
    body = state_header(2, [b"vmnic2", b"vmnic3"], len(stations))
    for key, uplink, flags, kind, moves, last, first, move, notify in stations:
        body += struct.pack("<QHBBIqIIII", key, uplink, flags, kind, moves, last, first, move, notify, 0)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def state_file_v3():
    # Version 2's stations, then two bindings and one failover story with one silent station.
    v2 = state_file_v2()[:-4]
    body = b"CAMWSTAT" + struct.pack("<I", 3) + v2[12:]
    bindings = [
        # vlan, uplink, claim, flags, ip (16 bytes), mac, previous mac, since, last seen
        (0, 0, 1, 1, bytes(10) + b"\xff\xff" + bytes([10, 0, 20, 21]), 0x00505600_0001, 0,
         1_699_999_000_000_000_000, 1_700_000_000_000_000_000),
        (5, 0xFFFF, 8, 0, bytes([0x20, 0x01, 0x0d, 0xb8]) + bytes(11) + b"\x07", 0x02010A001464, 0x00505600_0002,
         1_699_999_100_000_000_000, 1_699_999_700_000_000_000),
    ]
    body += struct.pack("<Q", len(bindings))
    for vlan, uplink, claim, flags, ip, mac, previous, since, last in bindings:
        body += struct.pack("<HHBBH", vlan, uplink, claim, flags, 0) + ip + struct.pack("<QQqqQ", mac, previous, since, last, 0)
    body += struct.pack("<I", 1)
    times = [1_699_999_900_000_000_000 + i * 1_000_000 for i in range(6)]
    body += struct.pack("<HHBBH", 0, 1, 1, 0, 1) + struct.pack("<6q", *times) + struct.pack("<5IIq", 3, 2, 1, 0, 1, 0, 1_000_000_000)
    body += struct.pack("<QHBBBBHIIqq", 0x02010A001464, 1, 0, 0, 1, 1, 0, 0x0A001464, 0, times[1], times[0])
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


CONFIG_WITH_UPLINKS = b"""[[uplink]]
name = "vmnic2"
interface = "eth1"
direction = "inout"
promiscuous = false

[[uplink]]
name = "vmnic3"
interface = "eth2"

[detection]
notify_window_after = "2.5s"
flap_moves = 4
"""


def main():
    repo, out = sys.argv[1], sys.argv[2]
    dirs = {t: os.path.join(out, t) for t in
            ("fuzz_decoder", "fuzz_mirror_decap", "fuzz_capture_file", "fuzz_state_file", "fuzz_config")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    pcap_dir = os.path.join(repo, "pcaps")
    for name in sorted(os.listdir(pcap_dir)):
        if not name.endswith(".pcap"):
            continue
        path = os.path.join(pcap_dir, name)
        shutil.copy(path, dirs["fuzz_capture_file"])
        for frame, wirelen in pcap_frames(path):
            extra = max(0, min(0xFFFF, wirelen - len(frame)))
            put(dirs["fuzz_decoder"], struct.pack("<H", extra) + frame)

    for frame in mirror_frames():
        put(dirs["fuzz_mirror_decap"], struct.pack("<H", 0) + frame)
        put(dirs["fuzz_mirror_decap"], struct.pack("<H", 100) + frame[:len(frame) - 30])  # snaplen cut

    shared = os.path.join(repo, "..", "shared", "corpus")
    for sub in ("real", "malformed"):
        d = os.path.join(shared, sub)
        if not os.path.isdir(d):
            print(f"seeds: {d} absent, skipped")
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if ("gre" in name.lower() or "erspan" in name.lower()) and os.path.isfile(path):
                for frame, wirelen in pcap_frames(path):
                    extra = max(0, min(0xFFFF, wirelen - len(frame)))
                    put(dirs["fuzz_mirror_decap"], struct.pack("<H", extra) + frame)
            # libFuzzer's default -max_len would cut big files anyway; keep seeds small.
            if os.path.isfile(path) and os.path.getsize(path) <= 1 << 20:
                shutil.copy(path, os.path.join(dirs["fuzz_capture_file"], f"{sub}__{name}"))

    shutil.copy(os.path.join(repo, "config", "camwatch.toml"), dirs["fuzz_config"])
    put(dirs["fuzz_config"], CONFIG_WITH_UPLINKS)
    put(dirs["fuzz_state_file"], state_file_v3())
    put(dirs["fuzz_state_file"], state_file_v2())
    put(dirs["fuzz_state_file"], state_file_v1())

    for target, d in dirs.items():
        print(f"seeds: {target}: {len(os.listdir(d))} files")


if __name__ == "__main__":
    main()
