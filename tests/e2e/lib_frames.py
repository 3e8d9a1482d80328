#!/usr/bin/env python3
"""Capture files for the live fault and flood tests (a helper, not a test itself).

Python, not camwatch-bench-gen: the sanitizer builds have no bench/ tools, and the tests run
there too. Classic pcap, microseconds, little-endian, Ethernet. Same arguments, same bytes.

  lib_frames.py flood OUT COUNT SEED           COUNT frames, each from a new random unicast MAC
                                               (a macof-style CAM flood), 1 us apart
  lib_frames.py random OUT COUNT SEED          COUNT random frames of 60..1514 bytes: raw bytes,
                                               or headers right up to a random depth (VLAN
                                               stacks, ARP, RARP, IPv4, IPv6/ICMPv6 with
                                               extension headers) and random bytes after; a
                                               share of well-formed frames and notifications
                                               from 64 MACs every seed shares (two files, two
                                               uplinks: moves)
  lib_frames.py script OUT < LINES             one frame per line "MICROSECONDS MAC KIND", KIND
                                               udp, garp or rarp, in the order given
  lib_frames.py moves A_OUT B_OUT COUNT [FIRST] COUNT stations (02:4d:00:.. numbered from FIRST,
                                               default 0) heard on A, then each on B with no
                                               notification: COUNT silent moves

Frames start at 2012-08-30T12:00:00Z (the bench generator's epoch); times in `script` are
microseconds after it.
"""
import random
import struct
import sys

EPOCH_US = 1_346_328_000 * 1_000_000
GATEWAY = bytes.fromhex("00000c07ac01")


def mac_bytes(text):
    return bytes.fromhex(text.replace(":", ""))


def random_unicast(rng):
    """A random MAC that can be a station: I/G bit clear, never all-zero."""
    while True:
        v = rng.getrandbits(48) & ~(1 << 40)
        if v:
            return v.to_bytes(6, "big")


class Pcap:
    def __init__(self, path):
        self.out = open(path, "wb")
        self.out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.buf = bytearray()
        self.count = 0

    def frame(self, t_us, data):
        t = EPOCH_US + t_us
        self.buf += struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data))
        self.buf += data
        self.count += 1
        if len(self.buf) > 8 << 20:
            self.out.write(self.buf)
            self.buf.clear()

    def close(self):
        self.out.write(self.buf)
        self.out.close()


def ipv4_udp(src, dst=GATEWAY):
    """A 60-byte IPv4/UDP frame (the minimum Ethernet frame without FCS)."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    udp = struct.pack("!HHHH", 40000, 9, 26, 0)
    return dst + src + b"\x08\x00" + ip + udp + bytes(18)


def arp(src, opcode, ethertype, sender_ip=bytes([10, 0, 0, 9]), target_ip=None):
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, opcode) + src + sender_ip + bytes(6) + (target_ip or sender_ip)
    return b"\xff" * 6 + src + struct.pack("!H", ethertype) + body + bytes(18)


def garp(src):
    return arp(src, 1, 0x0806)


def rarp(src):
    return arp(src, 3, 0x8035, bytes(4), bytes(4))


KINDS = {"udp": ipv4_udp, "garp": garp, "rarp": rarp}


def flood(path, count, seed):
    rng = random.Random(seed)
    out = Pcap(path)
    template = bytearray(ipv4_udp(bytes(6)))
    addresses = bytearray(rng.randbytes(12 * count))  # one call instead of two per frame
    for i in range(count):
        template[0:12] = addresses[12 * i:12 * i + 12]
        template[0] &= 0xFE  # unicast destination and source, as macof sends
        template[6] &= 0xFE
        if not any(template[6:12]):
            template[11] = 1
        out.frame(i, bytes(template))
    out.close()
    return out.count


# Sources shared by every random file (whatever its seed), so that random files played into two
# uplinks make stations move, flap and announce themselves.
POOL = [random_unicast(random.Random(7000 + i)) for i in range(64)]


def random_frame(rng):
    """Bytes a broken or hostile sender could put on the wire, 60..1514 long: shorter frames are
    runts a NIC discards (and the kernel drops short VLAN-tagged ones before any capture)."""
    frame = random_frame_body(rng)
    return frame + rng.randbytes(60 - len(frame)) if len(frame) < 60 else frame


def random_frame_body(rng):
    choice = rng.random()
    if choice < 0.2:  # anything at all
        return rng.randbytes(rng.randint(14, 200))
    if choice < 0.3:  # well-formed, from the shared pool: moves, flaps, notifications
        return rng.choice([ipv4_udp, ipv4_udp, garp, rarp])(rng.choice(POOL))
    source = rng.choice(POOL) if rng.random() < 0.3 else random_unicast(rng)
    header = rng.randbytes(6) + (source if rng.random() < 0.8 else rng.randbytes(6))
    tags = b""
    for _ in range(rng.choice([0, 0, 1, 2, 3, 9])):  # 9: more tags than the decoder follows
        tags += struct.pack("!HH", rng.choice([0x8100, 0x88A8, 0x9100]), rng.getrandbits(16))
    ethertype = rng.choice([0x0806, 0x8035, 0x0800, 0x86DD, 0x886F, rng.getrandbits(16), rng.randint(0, 1500)])
    body = bytearray(rng.randbytes(rng.randint(0, 120)))
    if ethertype in (0x0806, 0x8035) and rng.random() < 0.7:
        body = bytearray(struct.pack("!HHBBH", 1, 0x0800, 6, 4, rng.choice([1, 2, 3, 4, rng.getrandbits(16)])))
        body += rng.randbytes(rng.randint(0, 30))
    elif ethertype == 0x86DD and rng.random() < 0.7:
        next_header = rng.choice([58, 0, 43, 44, 60, 51, rng.getrandbits(8)])
        body = bytearray(struct.pack("!IHBB", 0x60000000, rng.randint(0, 200), next_header, 255))
        body += rng.randbytes(32)
        body += bytes([136, 0, 0, 0, rng.getrandbits(8)]) + rng.randbytes(rng.randint(0, 60))
    frame = header + tags + struct.pack("!H", ethertype) + bytes(body)
    if rng.random() < 0.05:
        frame += rng.randbytes(rng.randint(0, 1514 - len(frame))) if len(frame) < 1514 else b""
    return frame[:1514]


def random_frames(path, count, seed):
    rng = random.Random(seed)
    out = Pcap(path)
    for i in range(count):
        out.frame(i * 10, random_frame(rng))
    out.close()
    return out.count


def script(path, lines):
    out = Pcap(path)
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        t_us, mac, kind = line.split()
        out.frame(int(t_us), KINDS[kind](mac_bytes(mac)))
    out.close()
    return out.count


def moves(a_path, b_path, count, first=0):
    """Each station once on A; a second later each once on B: every one a silent move."""
    a, b = Pcap(a_path), Pcap(b_path)
    for i in range(first, first + count):
        mac = bytes([0x02, 0x4D, 0, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
        a.frame(i, ipv4_udp(mac))
        b.frame(1_000_000 + i, ipv4_udp(mac))
    a.close()
    b.close()
    return count


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "flood" and len(argv) == 5:
        n = flood(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "random" and len(argv) == 5:
        n = random_frames(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "script" and len(argv) == 3:
        n = script(argv[2], sys.stdin)
    elif cmd == "moves" and len(argv) in (5, 6):
        n = moves(argv[2], argv[3], int(argv[4]), int(argv[5]) if len(argv) == 6 else 0)
    else:
        sys.stderr.write(__doc__)
        return 2
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
