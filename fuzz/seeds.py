#!/usr/bin/env python3
"""Writes the seed corpora for the camwatch fuzzers (called by fuzz/run.sh).

usage: seeds.py REPO_DIR OUT_DIR

OUT_DIR/<target>/ gets, for fuzz_decoder: every frame of pcaps/*.pcap (classic pcap, either byte
order, micro or nanoseconds) prefixed with the 2-byte "extra wire bytes" the fuzzer reads;
fuzz_capture_file: the pcaps whole, plus ../shared/corpus/{real,malformed} when present;
fuzz_config: config/camwatch.toml and a small file with uplinks; fuzz_state_file: hand-made
valid state files of versions 2 and 1 (docs/STATE_FILE.md).
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
            ("fuzz_decoder", "fuzz_capture_file", "fuzz_state_file", "fuzz_config")}
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

    shared = os.path.join(repo, "..", "shared", "corpus")
    for sub in ("real", "malformed"):
        d = os.path.join(shared, sub)
        if not os.path.isdir(d):
            print(f"seeds: {d} absent, skipped")
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            # libFuzzer's default -max_len would cut big files anyway; keep seeds small.
            if os.path.isfile(path) and os.path.getsize(path) <= 1 << 20:
                shutil.copy(path, os.path.join(dirs["fuzz_capture_file"], f"{sub}__{name}"))

    shutil.copy(os.path.join(repo, "config", "camwatch.toml"), dirs["fuzz_config"])
    put(dirs["fuzz_config"], CONFIG_WITH_UPLINKS)
    put(dirs["fuzz_state_file"], state_file_v2())
    put(dirs["fuzz_state_file"], state_file_v1())

    for target, d in dirs.items():
        print(f"seeds: {target}: {len(os.listdir(d))} files")


if __name__ == "__main__":
    main()
