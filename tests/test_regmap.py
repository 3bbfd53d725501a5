"""The register map is described once (rtl/regs/*.rdl): its generated outputs are
current, and the Python model agrees with the independent descriptions of it."""

from __future__ import annotations

from sim import regmap_gen
from tb.ref import regs
from tb.ref.regmap import func_reset_values, upt_reg
from tb.shell_model.vmxnet3_defs import REG_STRIDE, Bar0


def test_generated_files_are_current() -> None:
    """The SV package, the Python model and the docs tables match the RDL."""
    stale = [
        str(path.relative_to(regmap_gen.REPO_ROOT))
        for path, text in regmap_gen.outputs().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"stale generated register map: {stale}; run `python -m sim.regmap_gen`"


def test_upt_page_is_vmxnet3_bar0() -> None:
    """The UPT page's offsets are vmxnet3's BAR0 (upstream vmxnet3_defs.h, transcribed
    in tb/shell_model/vmxnet3_defs.py independently of the RDL)."""
    assert regs.Upt.IMR == Bar0.IMR
    assert regs.Upt.TXPROD == Bar0.TXPROD
    assert regs.Upt.RXPROD == Bar0.RXPROD
    assert regs.Upt.RXPROD2 == Bar0.RXPROD2
    assert regs.Upt.TXPROD_STRIDE == REG_STRIDE
    assert upt_reg(Bar0.TXPROD, 3) == regs.Func.UPT_BASE + regs.Upt.TXPROD + 3 * REG_STRIDE


def test_rx_block_repeats_tx_block() -> None:
    """The RTL decodes the TX and RX blocks of a queue pair with one 6-bit offset
    (docs §3.1): every RXQ_x sits 0x40 after TXQ_x."""
    q = regs.Queue
    for m in q:
        if m.name.startswith("TXQ_"):
            assert q[m.name.replace("TXQ_", "RXQ_", 1)] == m + 0x40, m.name


def test_field_encode_refuses_overflow() -> None:
    f = regs.PortCtrl.LINK
    assert f.encode(2) == 0x8 and f.decode(0xC) == 3
    try:
        f.encode(4)
    except ValueError as e:
        assert "2-bit" in str(e)
    else:
        raise AssertionError("a value wider than its field was accepted")


def test_state_reset_from_rdl() -> None:
    """*_STATE registers reset to index 0, gen 1 (§4c) in the reset table."""
    vals = func_reset_values(1, 2)
    assert vals[regs.Func.QUEUE_BASE + regs.Queue.TXQ_STATE] == 0x8000_0000
    assert (
        vals[regs.Func.QUEUE_BASE + regs.Func.QUEUE_STRIDE + regs.Queue.RXQ_CPL_STATE]
        == 0x8000_0000
    )
