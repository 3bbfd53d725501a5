"""Constrained-random regression of the embedded switch (``rtl/eswitch.sv``).

Random policy and traffic on every port at once, random input gaps and output
backpressure; every frame and counter checked against tb/ref/eswitch_model, and
the coverage source x destination x tag x outcome (tb/ref/eswitch_coverage)
closed by aiming the later rounds at the bins still open.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import cocotb

from tb.eswitch.counter_preload import check_wrapped_and_clear, preload_counters
from tb.eswitch.frames import eth_frame, ext_mac, mac_of
from tb.eswitch.harness import TB, Traffic, program_functions, setup
from tb.functional_coverage import write_report
from tb.pf_driver.switch_regs import entry_writes, max_len_writes, policy_writes, uplink_link_writes
from tb.ref.eswitch_coverage import Bin, EswitchCoverage, unreachable_table
from tb.ref.eswitch_model import MAX_FRAME_BYTES, EswitchModel, PortPolicy, TxMeta, mac_bytes

RANDOM_VIDS = (7, 100)  # every function's MAC is in the table on VLAN 0, 7 and 100
MCAST_MACS = ("01:00:5e:00:00:01", "01:00:5e:00:00:02", "33:33:00:00:00:01")


def uplink_mac(i: int) -> str:
    """External MACs that have table entries towards the uplink (ext_mac never makes)."""
    return f"0a:00:00:ff:00:{i:02x}"


async def program_table(tb: TB, model: EswitchModel) -> list[str]:
    """Functions on VLAN 0, 100 and 7; as many uplink hosts as the table still holds."""
    await program_functions(tb, model)
    n = tb.num_func
    for f in range(n):
        await tb.program(model, entry_writes(2 * n + f, mac_of(f), 7, f))
    hosts = []
    for i, e in enumerate(range(3 * n, min(3 * n + 3, len(model.table)))):
        hosts.append(uplink_mac(i))
        await tb.program(model, entry_writes(e, uplink_mac(i), (0, 7, 100)[i], n))
    assert hosts, "table too small for the random regression"
    return hosts


def random_policy(rng: random.Random, port: int, strict: bool) -> PortPolicy:
    """Random policy of one function; ``strict`` rounds restrict more (more drops),
    the others leave most frames deliverable so that forwarding outcomes occur too."""
    pol = PortPolicy(
        spoofchk=rng.random() < 0.5,
        trust=rng.random() < 0.5,
        link=rng.choice(["auto"] * 5 + ["enable"] + ["disable"] * strict),
        vlan_filter=rng.random() < (0.4 if strict else 0.15),
        vlan_strip=rng.random() < 0.3,
        rx_ucast=rng.random() < (0.8 if strict else 0.95),
        rx_mcast=rng.random() < 0.5,
        rx_bcast=rng.random() < (0.7 if strict else 0.9),
        rx_allmulti=rng.random() < 0.4,
        rx_promisc=rng.random() < 0.3,
        smacs=[mac_bytes(mac_of(port))],
        vlans=rng.sample([7, 100, 200], rng.randrange(0, 3)),
        mcs=[mac_bytes(rng.choice(MCAST_MACS))] if rng.random() < 0.6 else [],
    )
    if rng.random() < (0.3 if strict else 0.15):
        pol.pvid, pol.pcp = rng.choice(RANDOM_VIDS), rng.randrange(8)
    if rng.random() < 0.35:
        # shaped to 2, 4 or 16 bytes per cycle, with a bucket smaller than a frame too
        pol.rate_enable, pol.rate_burst = True, rng.choice([0, 1500, 3000, 20000])
        pol.rate_inc = rng.choice([2, 4, 16]) * 65536
    if rng.random() < 0.15:
        pol.max_len = rng.choice([60, 128, 1000, 1514])  # PORT_MAX_LEN below some frames
    return pol


def close_policy_coverage(rng: random.Random, pols: list[PortPolicy]) -> None:
    """Each round has at least one port of each kind the outcomes need: a shaped
    port, a VLAN filter, a port VLAN, a disabled link, an untrusted promiscuous
    request and a port that strips and reports tags; forced on distinct ports where
    the port count allows, and only when no port of the round has it already."""
    order = rng.sample(range(len(pols)), len(pols))
    live = [p for p in pols if p.link != "disable"]
    needs = [
        (
            any(p.rate_enable for p in live),
            lambda p: setattr(p, "rate_enable", True) or setattr(p, "rate_inc", 2 * 65536),
        ),
        (
            any(p.vlan_filter and p.pvid is None for p in live),
            lambda p: setattr(p, "vlan_filter", True) or setattr(p, "pvid", None),
        ),
        (any(p.pvid is not None for p in live), lambda p: setattr(p, "pvid", 7)),
        (
            any(p.vlan_strip and p.pvid is None for p in live),
            lambda p: setattr(p, "vlan_strip", True) or setattr(p, "pvid", None),
        ),
        (any(p.spoofchk for p in live), lambda p: setattr(p, "spoofchk", True)),
    ]
    k = 0
    for have, force in needs:
        if not have:
            pol = pols[order[k % len(pols)]]
            force(pol)
            pol.link = "auto"
            pol.rate_burst = pol.rate_burst or 3000
            k += 1
    if not any(p.link == "disable" for p in pols):
        pols[order[-1]].link = "disable"


@dataclass(frozen=True)
class RandomFrame:
    port: int
    frame: bytes
    meta: TxMeta
    dmac: str


@dataclass(frozen=True)
class Target:
    """Constraints that aim a frame at one coverage bin (None: random)."""

    src: int | None = None
    cases: tuple[tuple[str, str], ...] = ()  # (destination kind, tag case) to pick from
    bad_len: bool = False
    spoof: bool = False
    too_big: bool = False  # longer than the source's PORT_MAX_LEN (60): any frame but a runt
    small_uplink: bool = False  # the uplink's PORT_MAX_LEN 60: no function reaches it


FLOOD_KINDS = ("bcast", "mcast", "unknown")  # a function's frame goes to the uplink too
TAG_TO_CASE = {"untagged": "none", "pvid": "none", "tagged": "tag", "meta": "meta", "qinq": "qinq"}


def aim(
    rng: random.Random,
    tb: TB,
    src: int,
    out: str,
    pvid: bool,
    cases: list[tuple[str, str]],
    pols: list[PortPolicy],
) -> Target:
    """Constrain one round towards coverage holes (src kind, dst, tag, ``out``) for
    (dst, tag) in ``cases``, sent from port ``src`` with a port VLAN iff ``pvid``: the
    policy that port needs for the outcome (and for a few outcomes the destinations'
    policy), and the frames to send. Holes aimed at later in the round may overwrite
    the destinations' policy; such a hole stays open for a later round."""
    n = tb.num_func
    if src < n:
        pol = pols[src]
        pol.link, pol.spoofchk, pol.rate_enable = "auto", out == "SPOOF_MAC", False
        pol.max_len = 60 if out == "TOO_BIG" else MAX_FRAME_BYTES
        pol.pvid = rng.choice(RANDOM_VIDS) if pvid else None
        if out == "LINK_DOWN":
            pol.link = "disable"
        elif out == "SPOOF_VLAN":
            pol.vlan_filter, pol.vlans = True, []
    others = [q for q in range(n) if q != src]
    for dst, _ in cases:
        if out == "LINK_DOWN" and src == n:
            # a unicast hit from the uplink on a function whose link is down
            for q in range(1, n) if dst == "vf" else [0] if dst == "pf" else []:
                pols[q].link = "disable"
        elif out == "NO_ROUTE":
            # nobody takes it: the unicast destination refuses unicast, no function
            # accepts the broadcast / multicast / unknown frame
            for q in others:
                if dst == "bcast":
                    pols[q].rx_bcast = False
                elif dst == "mcast":
                    pols[q].rx_allmulti = pols[q].rx_promisc = pols[q].rx_mcast = False
                elif dst == "unknown":
                    pols[q].rx_promisc = False
                elif (dst == "pf") == (q == 0):
                    pols[q].rx_ucast = False
    return Target(
        src=src,
        cases=tuple((dst, TAG_TO_CASE[tag]) for dst, tag in cases),
        bad_len=out == "BAD_LEN",
        spoof=out == "SPOOF_MAC",
        too_big=out == "TOO_BIG",
        # from the uplink TOO_BIG needs its own limit small; from a function, NO_ROUTE of
        # a frame the uplink would take needs the uplink's limit below the frame
        small_uplink=(src == n and out == "TOO_BIG")
        or (src < n and out == "NO_ROUTE" and any(d in FLOOD_KINDS for d, _ in cases)),
    )


def aim_round(
    rng: random.Random, tb: TB, holes: list[Bin], pols: list[PortPolicy], most: int = 8
) -> list[Target]:
    """Targets for up to ``most`` groups of holes, each from its own source port; a
    group shares source kind, outcome and whether the source has a port VLAN, so one
    policy of the source serves all of it."""
    groups: dict[tuple[str, str, bool], list[tuple[str, str]]] = {}
    for src_kind, dst, tag, out in holes:
        pvid = tag == "pvid" or out == "VLAN_POLICY"
        groups.setdefault((src_kind, out, pvid), []).append((dst, tag))
    n = tb.num_func
    free = {"pf": [0], "vf": rng.sample(range(1, n), n - 1), "uplink": [n]}
    targets = []
    for (src_kind, out, pvid), cases in rng.sample(sorted(groups.items()), len(groups)):
        if len(targets) == most or not free[src_kind]:
            continue
        targets.append(aim(rng, tb, free[src_kind].pop(), out, pvid, cases, pols))
    return targets


def random_frame(
    rng: random.Random, tb: TB, hosts: list[str], seq: int, want: Target = Target()
) -> RandomFrame:
    """One frame: random source, destination kind, tag case, size, sometimes spoofed;
    ``want`` pins any of them."""
    n = tb.num_func
    src = rng.randrange(tb.num_ports) if want.src is None else want.src
    kind, case = rng.choice(want.cases) if want.cases else (None, None)
    kind = kind or rng.choice(["pf", "vf", "uplink", "unknown", "bcast", "mcast"])
    dst = {
        "pf": mac_of(0),
        "vf": mac_of(rng.randrange(1, n)) if n > 1 else mac_of(0),
        "uplink": rng.choice(hosts),
        "unknown": ext_mac(seq & 0xFFFF),
        "bcast": "ff:ff:ff:ff:ff:ff",
        "mcast": rng.choice(MCAST_MACS),
    }[kind]
    smac = mac_of(src) if src < n else ext_mac(seq & 0xFFFF)
    if src < n and (want.spoof or rng.random() < 0.12):
        smac = "02:66:66:66:66:66"
    # Sideband the switch must not trust: a forged source function (it takes the
    # port's own number) and, without vlan_ins, a TCI it must not read. Drawn from a
    # generator of their own so that the frames and the coverage closure stay as
    # the seed makes them.
    side = random.Random(seq)
    forged = side.getrandbits(8) if side.random() < 0.25 else src
    meta = TxMeta(src_func=forged, vlan_tci=side.getrandbits(16) if side.random() < 0.25 else 0)

    def tci() -> int:
        return rng.randrange(8) << 13 | rng.choice([0, 7, 7, 100, 100, 200])

    def ins_tci() -> int:  # now and then any TCI at all: DEI set, any VID
        drawn = tci()
        return side.getrandbits(16) if side.random() < 0.25 else drawn

    tags: tuple[tuple[int, int], ...] = ()
    case = case or rng.choice(["none", "none", "none", "tag", "tag", "meta", "qinq"])
    if case == "tag":
        tags = ((0x8100, tci()),)
    elif case == "meta":
        meta = TxMeta(forged, True, ins_tci())
    elif case == "qinq":
        pick = rng.randrange(4)
        if pick == 3:
            tags, meta = ((0x8100, tci()),), TxMeta(forged, True, ins_tci())
        else:
            tags = (
                ((0x88A8, tci()), (0x8100, tci())),
                ((0x8100, tci()), (0x8100, tci())),
                ((0x8100, tci()), (0x88A8, tci())),
            )[pick]
    r = rng.random()
    if want.too_big:
        r = 0.5
    if want.bad_len:
        r = 0.07 if case == "qinq" or rng.random() < 0.3 else 0.0
    if r < 0.05:
        # runt; a tagged one of 14..17 bytes half the time
        size = rng.randrange(14 if tags and rng.random() < 0.5 else 1, 14 + 4 * len(tags))
    elif r < 0.08:
        size = rng.choice([9019, 9030])  # oversize
    elif r < 0.09:
        size = 9018  # longest allowed
    elif r < 0.2:
        size = rng.choice([511, 512, 513, 1024, 1518])
    else:
        size = rng.choice([60, 64, 65, 100, 128, 200, 256])
    return RandomFrame(src, eth_frame(dst, smac, size, seq, tags), meta, dst)


def functional_report(cov: EswitchCoverage, seed: int) -> str:
    """The coverage of one random run: summary, hits per reachable bin, unreachable bins."""
    lines = [f"functional coverage (eswitch random, seed {seed}): {cov.summary()}"]
    for b in cov.reachable():
        lines.append(f"  {' x '.join(b):50s} {cov.hits.get(b, 0)}")
    for why, count in unreachable_table().items():
        lines.append(f"  unreachable ({count} bins): {why}")
    return "\n".join(lines)


@cocotb.test()
async def test_random(dut):
    """Constrained-random policy and traffic on every port at once, random input gaps
    and random backpressure on every output; every output frame and every counter
    checked against the model; coverage source x destination x tag x outcome closed."""
    seed = int(os.environ.get("ESW_SEED", "7"))
    frames = int(os.environ.get("ESW_FRAMES", "16000"))
    rounds = int(os.environ.get("ESW_ROUNDS", "32"))
    need_cov = os.environ.get("ESW_COVERAGE", "1") == "1"
    rng = random.Random(seed)
    tb, model = await setup(dut, in_valid_p=0.8, seed=seed)
    preload_counters(dut, model, rng)  # every counter wraps in the first rounds
    hosts = await program_table(tb, model)
    t = Traffic(tb, model)
    seq = 0
    for rnd in range(rounds):
        strict = rnd % 2 == 1
        pols = [random_policy(rng, f, strict) for f in range(tb.num_func)]
        if strict:
            close_policy_coverage(rng, pols)
        # second half: coverage-driven, each round aimed at a few of the holes left
        holes = t.cov.holes() if rnd >= rounds // 2 else []
        targets = aim_round(rng, tb, holes, pols)
        for f in range(tb.num_func):
            await tb.program(model, policy_writes(f, pols[f]))
        up_small = any(tg.small_uplink for tg in targets)
        up_max = 60 if up_small else rng.choice([MAX_FRAME_BYTES] * 5 + [1000])
        await tb.program(model, max_len_writes(tb.num_func, up_max))
        await tb.program(model, uplink_link_writes(not strict or rng.random() < 0.7))
        tb.out_ready_p = rng.choice([0.3, 0.6, 0.9, 1.0])
        for _ in range(frames // rounds + (rnd < frames % rounds)):
            want = rng.choice(targets) if targets and rng.random() < 0.7 else Target()
            rf = random_frame(rng, tb, hosts, seq, want)
            t.send(rf.port, rf.frame, rf.meta, rf.dmac)
            seq += 1
        await t.run(max_cycles=5_000_000)
    holes = t.cov.holes()
    dut._log.info(
        "random seed %d: %d frames in %d rounds, %d cycles; coverage %s",
        seed,
        t.frames,
        rounds,
        tb.cycles,
        t.cov.summary(),
    )
    for why, count in unreachable_table().items():
        dut._log.info("unreachable (%d bins): %s", count, why)
    write_report(functional_report(t.cov, seed))
    assert t.frames == frames
    await check_wrapped_and_clear(tb, model)
    held = sum(sh.released_from_debt for sh in model.shapers)
    dut._log.info("shaper: %d frames started the edge their bucket left debt", held)
    if need_cov:
        assert not holes, f"{len(holes)} reachable coverage bins not hit: {holes}"
        assert held > 0, "no frame was ever held back by a TX shaper"
