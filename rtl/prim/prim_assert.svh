// prim_assert.svh: the RTL's assertion macros (after OpenTitan's prim_assert.sv).
// Concurrent properties sampled on the rising clock edge and disabled during
// reset; compiled only in simulation (`ifndef SYNTHESIS: empty for synthesis).
// The simulation builds (sim/runner.py) check them: assertions are on by default
// in this Verilator and no build passes --no-assert. A failing check stops the
// simulation with the instance path and the check's name.
//
//   `ASSERT(name, prop)        prop holds every cycle out of reset (may use |->, $past, ...)
//   `ASSERT_NEVER(name, prop)  prop never holds
//   `ASSERT_KNOWN(name, sig)   sig has no X or Z bit (four-state simulators; Verilator: 2-state)
//   `ASSERT_ONEHOT0(name, sig) at most one bit of sig is set
//   `ASSERT_PARAM(name, cond, msg)  elaboration-time parameter check: $fatal naming the
//                              instance (%m) unless cond holds; in synthesis too
// clk and rst default to the module's clk and rst; pass others as further arguments.

`ifndef PRIM_ASSERT_SVH
`define PRIM_ASSERT_SVH

`define ASSERT_PARAM(name, cond, msg) \
  if (!(cond)) begin : name \
    $fatal(1, "%m: %s", msg); \
  end

`ifndef SYNTHESIS

`define ASSERT(name, prop, clk = clk, rst = rst) \
  name: assert property (@(posedge clk) disable iff (rst) (prop)) \
    else $error("%m: %s failed", `"name`");

`define ASSERT_NEVER(name, prop, clk = clk, rst = rst) \
  `ASSERT(name, !(prop), clk, rst)

`define ASSERT_KNOWN(name, sig, clk = clk, rst = rst) \
  `ASSERT(name, !$isunknown(sig), clk, rst)

`define ASSERT_ONEHOT0(name, sig, clk = clk, rst = rst) \
  `ASSERT(name, $onehot0(sig), clk, rst)

`else

`define ASSERT(name, prop, clk = clk, rst = rst)
`define ASSERT_NEVER(name, prop, clk = clk, rst = rst)
`define ASSERT_KNOWN(name, sig, clk = clk, rst = rst)
`define ASSERT_ONEHOT0(name, sig, clk = clk, rst = rst)

`endif

`endif
