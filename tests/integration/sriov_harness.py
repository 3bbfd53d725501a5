"""What the SR-IOV control-plane tests on nic_top share (tests/integration/cocotb_sriov_*.py):
the NIC brought up with the PF driver probed, the switch policy address of a
port, the MACs the tests give their functions, a raw mailbox exchange.
"""

from __future__ import annotations

import cocotb

from tb.env import NicTb, TbConfig
from tb.host.interrupts import IrqMonitor
from tb.ref.eswitch_model import POL_BASE, POL_STRIDE
from tb.ref.mailbox import MbxMessage, MsgType
from tb.ref.regmap import Esw
from tb.vf_driver.ixgbevf import IxgbeVf

EXT_MAC = "02:00:00:00:ff:01"


def pol(port: int, off: int) -> int:
    return Esw.BASE + POL_BASE + POL_STRIDE * port + off


def vf_mac(f: int) -> str:
    return f"02:00:00:00:00:{f:02x}"


async def make_tb(dut, seed: int = 1) -> tuple[NicTb, IrqMonitor]:
    tb = NicTb(dut, TbConfig(seed=seed, read_latency=40))
    irq = IrqMonitor(dut)
    cocotb.start_soon(irq.run())
    await tb.reset()
    await tb.pf.probe()
    return tb, irq


def mbx_vector(tb: NicTb) -> int:
    # Documented: the mailbox vector follows the 2 * NUM_QUEUES queue vectors.
    return 2 * int(tb.dut.NUM_QUEUES.value)


async def raw_request(vfd: IxgbeVf, msg: MbxMessage) -> MbxMessage:
    """One exchange, returning the raw reply (PF control messages skipped)."""
    port = await vfd._port()
    await port.send(msg)
    while (reply := await port.receive()).msg_type == MsgType.PF_CONTROL_MSG:
        pass
    return reply
