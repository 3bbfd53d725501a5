"""Attacks of the hostile VM on its DMA engine: a buffer outside its memory and
malformed TX descriptors and doorbells (sim/soak/attacks.py)."""

from __future__ import annotations

from abc import abstractmethod

from sim.soak.attack_steps import queue_error, take_back
from sim.soak.inject import Injection
from sim.soak.model import Expect, InjectionRecord
from sim.soak.world import HOSTILE, VM_MEM, SoakWorld
from tb.ref.eswitch_model import MAX_FRAME_BYTES  # nic_pkg's: longer is ERR_DESC_LEN_MAX
from tb.ref.regmap import (
    FUNC_STATUS_ERROR,
    Func,
    QErr,
    Queue,
    queue_reg,
)
from tb.vf_driver.rings import MAX_TX_BUFS  # vf_dma's MAX_TX_BUFS

MAX_DESC_LEN = 0xFFFF  # a format-A descriptor's 16-bit length


class DmaOutside(Injection):
    """A TX descriptor pointing outside the VM's memory: IOMMU fault, the VF's queue
    stops in its error state, the hypervisor takes the VM back to the emulated path
    (and, here, gives it its VF and rogue plugin again)."""

    name, category = "dma_outside", "attack"

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"iommu_faults.f4": len(w.tb.iommu.faults_of(w.func(target)))}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        func = w.func(HOSTILE)
        faults0 = len(w.tb.iommu.faults_of(func))
        gpa = VM_MEM + 0x1000 * self.rng.randint(1, 256)
        await w.rogue().dma_outside(gpa)
        await w.tb.wait_until(
            "the IOMMU fault", lambda: len(w.tb.iommu.faults_of(func)) > faults0, within=50_000
        )
        status = await w.tb.bar(func).read(Func.FUNC_STATUS)
        rec.measured["func_status_error"] = int(bool(status & FUNC_STATUS_ERROR))
        rec.expects += [Expect("iommu_faults.f4", 1, exact=False), Expect("func_status_error", 1)]
        await take_back(w, rec, "VF error (IOMMU fault)")
        rec.notes.append(f"TX buffer at GPA {gpa:#x}")


class MalformedTx(Injection):
    """Base of the hostile plugin's malformed TX descriptors and doorbells (ARCHITECTURE
    §3.1, queue control and error state): the VF's engine refuses each, puts the queue
    in its error state with the documented code (``*Q_STATUS``: bit 31, code in [7:0]),
    sets ``FUNC_STATUS.ERROR``, sends exactly one message on the function's error vector
    (2·NUM_QUEUES+1), and reads no byte of a refused frame: its buffers lie outside the
    VM's memory, so a single read would be an IOMMU fault (none expected). Then the
    hypervisor takes the VM back and gives it the VF again, as for ``dma_outside``."""

    category = "attack"
    rx = False  # which queue the error is expected on (TX or RX of queue pair 0)

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"iommu_faults.f4": len(w.tb.iommu.faults_of(w.func(target)))}

    def outside(self, n: int) -> int:
        """A GPA beyond the VM's memory with ``n`` bytes after it unmapped too."""
        return VM_MEM + 0x1000 * self.rng.randint(1, 256) + self.rng.randrange(0, 64)

    async def post_outside(self, w: SoakWorld, lens: list[int]) -> None:
        """One TX frame of buffers of ``lens`` bytes, back to back outside the VM's
        memory, posted by the hostile plugin without its own checks."""
        frags, addr = [], self.outside(sum(lens))
        for n in lens:
            frags.append((addr, n))
            addr += n
        await w.rogue().post_malformed(frags)

    @abstractmethod
    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        """Do the malformed thing; return the error code the documentation gives for it."""

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        code = QErr.NONE

        async def act() -> tuple[QErr, bool]:
            nonlocal code
            code = await self.malform(w, rec)
            return code, self.rx

        await queue_error(w, rec, HOSTILE, act)
        rec.expects.append(Expect("iommu_faults.f4", 0))
        await take_back(w, rec, f"VF error ({code.name})")


class ProducerBeyondRing(MalformedTx):
    """A doorbell (``*Q_PROD``) at or beyond the ring's size: the write is ignored and the
    queue goes to error with ``ERR_PROD_RANGE``."""

    name = "producer_beyond_ring"

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        rogue = w.rogue()
        self.rx = self.rng.random() < 0.5
        reg = queue_reg(0, Queue.RXQ_PROD if self.rx else Queue.TXQ_PROD)
        size_reg = queue_reg(0, Queue.RXQ_SIZE if self.rx else Queue.TXQ_SIZE)
        size = 1 << (await rogue.read_own(size_reg) & 0x1F)
        bad = self.rng.choice([size, self.rng.randint(size, 0xFFFF)])
        await rogue.write_own(reg, bad)
        rec.measured["prod_ignored"] = int(await rogue.read_own(reg) != bad)
        rec.expects.append(Expect("prod_ignored", 1))
        rec.notes.append(f"{'RX' if self.rx else 'TX'}Q_PROD = {bad} on a ring of {size}")
        return QErr.PROD_RANGE


class BadLength(MalformedTx):
    """A TX frame with a zero-length buffer (``ERR_DESC_LEN_ZERO``) or longer than
    ``MAX_FRAME_BYTES`` (``ERR_DESC_LEN_MAX``), in 1 to 4 buffers."""

    name = "bad_length"

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        rng, nbufs = self.rng, self.rng.randint(1, 4)
        if rng.random() < 0.5:
            lens = [rng.randint(1, 1500) for _ in range(nbufs)]
            lens[rng.randrange(nbufs)] = 0
            code = QErr.DESC_LEN_ZERO
        else:
            low = -(-(MAX_FRAME_BYTES + 1) // nbufs)
            lens = [rng.randint(low, min(MAX_DESC_LEN, 2 * low)) for _ in range(nbufs)]
            code = QErr.DESC_LEN_MAX
        await self.post_outside(w, lens)
        rec.notes.append(f"TX frame of buffers {lens} ({sum(lens)} bytes) outside its memory")
        return code


class TooManyDescriptors(MalformedTx):
    """A TX frame of 17 to 24 buffers (more than ``MAX_TX_BUFS``, 16), short enough in
    total: ``ERR_TOO_MANY_BUFS``."""

    name = "too_many_descriptors"

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        lens = [self.rng.randint(1, 256) for _ in range(self.rng.randint(MAX_TX_BUFS + 1, 24))]
        await self.post_outside(w, lens)
        rec.notes.append(f"TX frame of {len(lens)} buffers ({sum(lens)} bytes)")
        return QErr.TOO_MANY_BUFS
