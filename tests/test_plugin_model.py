"""NPA plugin images, the loader's refusals (with a corruption fuzz), and the ring-A plugin
translating vmxnet3 shell rings into VF ring operations, against a format-A VF model."""

from __future__ import annotations

import asyncio
import random
import struct
import zlib

import pytest

from tb.host.iommu import Iommu, IommuFault
from tb.host.memory import HostMemory
from tb.host.mmio import FunctionBar
from tb.hypervisor import Hypervisor
from tb.plugin_model import (
    BadMagicError,
    DeviceMismatchError,
    EntryOffsetError,
    EntryPoint,
    HeaderCrcError,
    MalformedEntryError,
    MalformedImageError,
    MissingEntryPointError,
    PayloadCrcError,
    PluginImage,
    PluginImageError,
    PluginLoader,
    PluginLoadError,
    PluginStateError,
    RingAPlugin,
    TruncatedImageError,
    UnknownPluginError,
    UnsupportedAbiError,
)
from tb.ref.regmap import Queue, queue_reg
from tb.shell_model import Vmxnet3DeviceRings, Vmxnet3Shell
from tb.shell_model.shell_services import ShellServices

VENDOR, DEVICE = 0x5A00, 0x5A01
ENTRIES = ("init", "tx", "rx_refill", "reap", "quiesce")
PAYLOAD = bytes(range(256)) * 3


def image_spec(**changes: object) -> PluginImage:
    fields: dict[str, object] = {
        "vendor_id": VENDOR,
        "device_id": DEVICE,
        "plugin_id": "sriovnic-vf-a",
        "entries": tuple(EntryPoint(n, 0x40 * i) for i, n in enumerate(ENTRIES)),
        "payload": PAYLOAD,
    }
    fields.update(changes)
    return PluginImage(**fields)  # type: ignore[arg-type]


def reseal(raw: bytearray) -> bytes:
    """Recompute both CRCs as the documented layout places them (bytes 36 and 40)."""
    count = struct.unpack_from("<H", raw, 12)[0]
    table_end = 48 + 16 * count
    struct.pack_into("<I", raw, 36, zlib.crc32(bytes(raw[table_end:])))
    struct.pack_into("<I", raw, 40, 0)
    struct.pack_into("<I", raw, 40, zlib.crc32(bytes(raw[:table_end])))
    return bytes(raw)


def make_loader() -> PluginLoader:
    return PluginLoader(VENDOR, DEVICE, {"sriovnic-vf-a": lambda img: object()})  # type: ignore


# -- image format ---------------------------------------------------------------------------


def test_image_layout_matches_the_documented_offsets() -> None:
    raw = image_spec().pack()
    assert raw[:4] == b"NPAP"
    assert struct.unpack_from("<HHHHHH", raw, 4) == (1, 0, VENDOR, DEVICE, 5, 0)
    assert raw[16:32] == b"sriovnic-vf-a\0\0\0"
    plen, pcrc, hcrc, rsvd = struct.unpack_from("<IIII", raw, 32)
    assert (plen, pcrc, rsvd) == (len(PAYLOAD), zlib.crc32(PAYLOAD), 0)
    table_end = 48 + 16 * 5
    assert hcrc == zlib.crc32(raw[:40] + bytes(4) + raw[44:table_end])
    assert raw[48:64] == b"init" + bytes(8) + struct.pack("<I", 0)
    assert raw[64 + 16 * 3 : 64 + 16 * 4] == b"quiesce" + bytes(5) + struct.pack("<I", 0x100)
    assert raw[table_end:] == PAYLOAD
    assert PluginImage.parse(raw) == image_spec()


def test_each_defect_is_refused_with_its_own_error_and_counted() -> None:
    loader = make_loader()
    good = image_spec().pack()

    def patched(offset: int, fmt: str, value: object) -> bytes:
        raw = bytearray(good)
        struct.pack_into(fmt, raw, offset, value)
        return reseal(raw)

    cases: list[tuple[bytes, type[PluginImageError]]] = [
        (good[:47], TruncatedImageError),
        (good[:100], TruncatedImageError),
        (good[:-1], TruncatedImageError),
        (good + b"\0", MalformedImageError),
        (patched(0, "4s", b"NPAQ"), BadMagicError),
        (patched(4, "<H", 2), UnsupportedAbiError),
        (patched(12, "<H", 0), MalformedImageError),
        (patched(14, "<H", 1), MalformedImageError),
        (bytes(good[:20]) + b"X" + good[21:], HeaderCrcError),
        (good[:-1] + bytes([good[-1] ^ 1]), PayloadCrcError),
        (image_spec(device_id=0x1234).pack(), DeviceMismatchError),
        (image_spec(vendor_id=0x15AD).pack(), DeviceMismatchError),
        (
            image_spec(entries=(EntryPoint("init", 0), EntryPoint("tx", 4))).pack(),
            MissingEntryPointError,
        ),
        (image_spec(plugin_id="other-vendor").pack(), UnknownPluginError),
        (patched(48 + 16 + 12, "<I", len(PAYLOAD)), EntryOffsetError),
        (patched(48 + 16, "12s", b"ini\xfft"), MalformedEntryError),
        (patched(48 + 16, "12s", b"init"), MalformedEntryError),  # "init" twice
    ]
    for raw, error in cases:
        with pytest.raises(error):
            loader.load(raw)
    assert loader.loaded is None and loader.loads == 0
    assert sum(loader.refusals.values()) == len(cases)
    assert loader.refusals == {
        "truncated": 3,
        "malformed": 3,
        "bad_magic": 1,
        "unsupported_abi": 1,
        "header_crc": 1,
        "payload_crc": 1,
        "device_mismatch": 2,
        "missing_entry": 1,
        "unknown_plugin": 1,
        "entry_offset": 1,
        "bad_entry": 2,
    }
    assert loader.load(good).image == image_spec()


def test_random_corruptions_are_all_refused_and_never_crash() -> None:
    loader = make_loader()
    first = loader.load(image_spec().pack())
    good = image_spec().pack()
    rng = random.Random(2024)
    trials = 3000
    for _ in range(trials):
        raw = bytearray(good)
        kind = rng.randrange(4)
        if kind == 0:  # flip bits in one to four bytes
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(len(raw))] ^= rng.randint(1, 255)
        elif kind == 1:  # truncate
            del raw[rng.randrange(len(raw)) :]
        elif kind == 2:  # insert bytes
            pos = rng.randrange(len(raw) + 1)
            raw[pos:pos] = rng.randbytes(rng.randint(1, 8))
        else:  # overwrite a run of the header or table
            pos = rng.randrange(48 + 16 * 5)
            raw[pos : pos + 4] = rng.randbytes(4)
            if bytes(raw) == good:
                raw[pos] ^= 0xFF
        with pytest.raises(PluginImageError):
            loader.load(bytes(raw))
    assert sum(loader.refusals.values()) == trials
    assert loader.loaded is first and loader.loads == 1  # nothing half-loaded
    assert {"header_crc", "payload_crc", "truncated"} <= set(loader.refusals)


def test_a_factory_failure_leaves_no_plugin_loaded() -> None:
    def broken(image: PluginImage) -> RingAPlugin:
        raise OSError("no VF BAR mapped")

    loader = PluginLoader(VENDOR, DEVICE, {"sriovnic-vf-a": broken})
    with pytest.raises(PluginLoadError, match="no VF BAR"):
        loader.load(image_spec().pack())
    assert loader.loaded is None and loader.refusals == {"factory": 1}


# -- the ring-A plugin against a format-A VF model -------------------------------------------


class RingAVfModel:
    """A VF's queue pair 0 as docs/ARCHITECTURE.md §3-4 describe it, DMA through the IOMMU.

    Decodes descriptors with its own struct formats from the documented byte tables.
    """

    def __init__(self, host: HostMemory, iommu: Iommu, func: int) -> None:
        self.host, self.iommu, self.func = host, iommu, func
        self.regs: dict[int, int] = {}
        self.wire: list[tuple[bytes, int | None]] = []
        self.tx_buf_addrs: list[int] = []  # every TX buffer address the VF read
        self.rx_buf_addrs: list[int] = []  # every RX buffer address the VF wrote
        self.tx_cons = self.tx_cpl = self.rx_cons = self.rx_cpl = 0
        self.tx_gen = self.rx_gen = 1

    def _dma_read(self, iova: int, n: int) -> bytes:
        segs = self.iommu.translate(self.func, iova, n, write=False)
        return b"".join(self.host.read(pa, ln) for pa, ln in segs)

    def _dma_write(self, iova: int, data: bytes) -> None:
        pos = 0
        for pa, ln in self.iommu.translate(self.func, iova, len(data), write=True):
            self.host.write(pa, data[pos : pos + ln])
            pos += ln

    def _ring(self, lo: Queue) -> tuple[int, int, int]:
        r = lambda reg: self.regs.get(queue_reg(0, reg), 0)  # noqa: E731
        off = lo - Queue.TXQ_BASE_LO
        base = r(Queue.TXQ_BASE_LO + off) | r(Queue.TXQ_BASE_HI + off) << 32
        cpl = r(Queue.TXQ_CPL_BASE_LO + off) | r(Queue.TXQ_CPL_BASE_HI + off) << 32
        return base, cpl, 1 << r(Queue.TXQ_SIZE + off)

    async def read32(self, func: int, addr: int) -> int:
        assert func == self.func
        return self.regs.get(addr, 0)

    async def write32(self, func: int, addr: int, value: int) -> None:
        assert func == self.func
        self.regs[addr] = value
        if addr == queue_reg(0, Queue.TXQ_PROD):
            self._transmit(value)

    def _transmit(self, prod: int) -> None:
        base, cpl, size = self._ring(Queue.TXQ_BASE_LO)
        frame, tci = b"", None
        while self.tx_cons != prod:
            addr, ln, flags, _, vtci, _ = struct.unpack(
                "<QHBBHH", self._dma_read(base + 16 * self.tx_cons, 16)
            )
            if flags & 1:
                frame, tci = b"", (vtci if flags & 4 else None)
            frame += self._dma_read(addr, ln)
            self.tx_buf_addrs.append(addr)
            if flags & 2:
                self.wire.append((frame, tci))
                entry = struct.pack("<HHB10xB", self.tx_cons, len(frame), 0, self.tx_gen << 7)
                self._dma_write(cpl + 16 * self.tx_cpl, entry)
                self.tx_cpl = (self.tx_cpl + 1) % size
                self.tx_gen ^= self.tx_cpl == 0
            self.tx_cons = (self.tx_cons + 1) % size

    def receive(self, frame: bytes, tci: int | None = None) -> bool:
        base, cpl, size = self._ring(Queue.RXQ_BASE_LO)
        prod = self.regs.get(queue_reg(0, Queue.RXQ_PROD), 0)
        first, pos, nbufs = self.rx_cons, 0, 0
        room, k = 0, self.rx_cons
        while k != prod and room < len(frame):
            room += struct.unpack("<QH6x", self._dma_read(base + 16 * k, 16))[1]
            k = (k + 1) % size
        if room < len(frame):
            return False  # no buffer: dropped, nothing consumed
        while pos < len(frame):
            addr, ln = struct.unpack("<QH6x", self._dma_read(base + 16 * self.rx_cons, 16))
            self._dma_write(addr, frame[pos : pos + ln])
            self.rx_buf_addrs.append(addr)
            pos += ln
            nbufs += 1
            self.rx_cons = (self.rx_cons + 1) % size
        entry = struct.pack(
            "<HBBHHB6xB", first, nbufs, tci is not None, len(frame), tci or 0, 0, self.rx_gen << 7
        )
        self._dma_write(cpl + 16 * self.rx_cpl, entry)
        self.rx_cpl = (self.rx_cpl + 1) % size
        self.rx_gen ^= self.rx_cpl == 0
        return True


def npa_setup() -> tuple[Iommu, Hypervisor, RingAVfModel, Vmxnet3Shell, RingAPlugin]:
    host = HostMemory(16 << 20)
    iommu = Iommu()

    class Sriov:
        total_vfs, num_vfs = 4, 2

    hv = Hypervisor(host, iommu, Sriov())
    vm = hv.create_vm("vm1", 4 << 20)
    func = hv.assign_vf("vm1", 0)
    vf = RingAVfModel(host, iommu, func)
    shell = Vmxnet3Shell(vm.memory, tx_size=64, rx_size=64, rx_buf_len=1536)
    loader = PluginLoader(
        VENDOR,
        DEVICE,
        {"sriovnic-vf-a": lambda img: RingAPlugin(size_log2=5)},
    )
    # The hypervisor injects the image into guest memory; the shell loads it from there.
    raw = image_spec().pack()
    gpa = vm.memory.alloc(len(raw))
    vm.memory.write(gpa, raw)
    plugin = loader.load_from_guest(vm.memory, gpa, len(raw)).plugin
    assert isinstance(plugin, RingAPlugin)
    api = ShellServices(
        Vmxnet3DeviceRings(vm.memory, shell.conf),
        vm.memory,
        FunctionBar(vf, func),  # type: ignore[arg-type]
    )
    asyncio.run(plugin.init(api))
    assert api.irq_handler is not None  # the plugin registered its interrupt handler
    return iommu, hv, vf, shell, plugin


def test_plugin_translates_shell_tx_into_vf_ring_operations() -> None:
    iommu, _, vf, shell, plugin = npa_setup()
    rng = random.Random(5)
    sent: list[tuple[bytes, int | None]] = []
    gpas: list[int] = []

    async def run() -> None:
        for burst in range(24):
            for _ in range(rng.randint(1, 10)):
                frame = rng.randbytes(rng.randint(60, 9000))
                tci = rng.choice([None, 0x2005])
                pending = shell.post_tx(frame, vlan_tci=tci)
                assert pending.ndesc == 1
                gpas.append(pending.buf_gpa)
                sent.append((frame, tci))
            await plugin.tx(shell.tx_prod)
            result = await plugin.reap()
            assert result.tx_completed > 0, burst
            shell.reap_tx()

    asyncio.run(run())
    assert vf.wire == sent  # what left the VF is what the guest sent, in order
    assert vf.tx_buf_addrs == gpas  # read where the stack put it: no copy on the way
    assert shell.tx_in_flight == () and shell.stats["tx_completed"] == len(sent)
    assert len(sent) > 64  # more frames than the shell ring (64) and the VF ring (32) hold
    assert iommu.faults == []


def test_plugin_backlogs_when_the_vf_ring_is_full_and_drops_oversize_frames() -> None:
    _, _, vf, shell, plugin = npa_setup()

    async def run() -> None:
        frames = [bytes([i]) * 100 for i in range(40)]  # VF ring holds 31
        for f in frames:
            shell.post_tx(f)
        assert await plugin.tx(shell.tx_prod) == 31
        await plugin.reap()  # completes 31, pushes the other 9
        await plugin.reap()
        assert [t.data for t in shell.reap_tx()] == frames
        big = bytes(12000)  # fits vmxnet3 (one 16 KiB descriptor), not the VF's 9216
        shell.post_tx(big)
        await plugin.tx(shell.tx_prod)
        assert [t.data for t in shell.reap_tx()] == [big]  # completed, not sent
        assert plugin.stats["tx_dropped_oversize"] == 1

    asyncio.run(run())
    assert len(vf.wire) == 40


def test_plugin_delivers_vf_rx_frames_into_shell_buffers() -> None:
    iommu, _, vf, shell, plugin = npa_setup()
    rng = random.Random(9)

    async def run() -> None:
        shell.post_rx()
        assert await plugin.rx_refill(shell.rx_prod) == 63
        got: list[tuple[bytes, int | None]] = []
        expect: list[tuple[bytes, int | None]] = []
        for _ in range(100):
            frame = rng.randbytes(rng.randint(60, 6000))  # up to four 1536-byte shell buffers
            tci = rng.choice([None, 7])
            assert vf.receive(frame, tci)
            expect.append((frame, tci))
            result = await plugin.reap()
            assert result.rx_delivered == 1
            got += [(p.data, p.vlan_tci) for p in shell.reap_rx()]
            shell.post_rx()
            await plugin.rx_refill(shell.rx_prod)
        assert got == expect
        # Written straight into the buffers the stack posted: no copy on the way.
        assert set(vf.rx_buf_addrs) <= set(shell._rx_bufs)
        # The shell stops reposting: its 63 buffers take 63 frames (the VF ring holds
        # 31 of them at a time, the plugin tops it up), then the VF has no buffer and
        # drops in hardware (RXQ_DROPS), not in the plugin.
        taken = 0
        for _ in range(80):
            taken += vf.receive(bytes(1500))
            await plugin.reap()
        assert taken == 63
        assert len(shell.reap_rx()) == 63

    asyncio.run(run())
    assert iommu.faults == []


def test_quiesce_stops_the_vf_queues_and_later_calls_are_refused() -> None:
    _, _, vf, shell, plugin = npa_setup()
    dev = plugin._api.rings  # type: ignore[union-attr]  # the rings the plugin hands back

    async def run() -> None:
        frames = [bytes([i]) * 64 for i in range(40)]  # VF ring holds 31
        for f in frames:
            shell.post_tx(f)
        await plugin.tx(shell.tx_prod)
        shell.post_rx()
        await plugin.rx_refill(shell.rx_prod)
        result = await plugin.quiesce()
        # The 31 on the VF drained (the model completes at once), 9 handed back unsent.
        assert result.tx_abandoned == 0 and result.tx_backlog == 9
        assert [t.data for t in shell.reap_tx()] == frames[:31]
        # The next owner of the rings fetches exactly the 9 unsent frames, in order.
        again = dev.fetch_tx(shell.tx_prod)
        assert [dev.read_frame(r) for r in again] == frames[31:]
        # Every receive buffer (31 on the VF, 32 waiting) is back, oldest first.
        assert [b.idx for b in dev.claim_rx_buffers()] == list(range(63))
        assert vf.regs[queue_reg(0, Queue.TXQ_CTRL)] == 0
        assert vf.regs[queue_reg(0, Queue.RXQ_CTRL)] == 0
        with pytest.raises(PluginStateError, match="after quiesce"):
            await plugin.reap()

    asyncio.run(run())
    fresh = RingAPlugin()
    with pytest.raises(PluginStateError, match="before init"):
        asyncio.run(fresh.tx(0))


def test_quiesce_hands_the_shell_frames_the_vf_received_after_the_last_reap() -> None:
    """Frames the VF wrote into the shell's buffers after the plugin's last reap (the
    switch entry moves away, then the quiesce) reach the shell, in order; only the
    buffers it did not fill go back unused."""
    _, _, vf, shell, plugin = npa_setup()
    dev = plugin._api.rings  # type: ignore[union-attr]
    rng = random.Random(12)

    async def run() -> None:
        shell.post_rx()
        await plugin.rx_refill(shell.rx_prod)
        late = [rng.randbytes(rng.randint(60, 3000)) for _ in range(5)]  # 1-2 buffers each
        for frame in late:
            assert vf.receive(frame)
        used = len(vf.rx_buf_addrs)
        await plugin.quiesce()
        assert [p.data for p in shell.reap_rx()] == late
        assert plugin.stats["rx_delivered"] == len(late)
        # The 63 posted buffers minus the ones filled are the next owner's, in order.
        assert [b.idx for b in dev.claim_rx_buffers()] == list(range(used, 63))

    asyncio.run(run())


def test_plugin_reattaches_many_times_in_a_small_vm() -> None:
    """The plugin posts the shell's own buffers: an init allocates its VF rings only, so
    a 4 MiB VM takes 40 attach/quiesce rounds (TX staging areas of 9 KiB per slot, as a
    driver sending its own copies has, filled the VM after a dozen)."""
    _, _, vf, _, plugin = npa_setup()
    api = plugin._api
    assert api is not None

    async def run() -> None:
        await plugin.quiesce()
        for _ in range(40):
            again = RingAPlugin(size_log2=5)
            await again.init(api)
            await again.quiesce()
        assert vf.regs[queue_reg(0, Queue.TXQ_CTRL)] == 0

    asyncio.run(run())


def test_vf_cannot_reach_outside_its_vm_even_if_the_plugin_points_it_there() -> None:
    iommu, hv, vf, _, _ = npa_setup()
    other = hv.create_vm("vm2", 1 << 20)
    # A hostile plugin programs VM2's host address as a TX buffer: the IOMMU refuses it.
    with pytest.raises(IommuFault, match="unmapped"):
        vf._dma_read(other.host_base + 0x1000, 64)
    assert iommu.faults_of(1)[-1].iova == other.host_base + 0x1000
