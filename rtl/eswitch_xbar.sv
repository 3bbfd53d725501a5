// Embedded switch: crossbar. Frame-locked allocation of outputs to input frames
// (one input frame may take several outputs at once for replication), one beat
// per cycle per output, disjoint input/output pairs in parallel, and a two-entry
// output buffer per port so that tvalid never depends on tready.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_xbar
  import axi_pkg::*;
#(
    // Stream data width in bits.
    parameter int DATA_W = 512,
    // Sideband width carried with every beat.
    parameter int USER_W = 17,
    // Number of switch ports (inputs = outputs).
    parameter int NUM_PORTS = 4
) (
    input  wire logic                                 clk,
    input  wire logic                                 rst,
    // input frames (from eswitch_ingress), DATA_W low bits; req and mask hold for
    // the whole frame
    input  wire logic  [NUM_PORTS-1:0]                in_req,
    input  wire logic  [NUM_PORTS-1:0][NUM_PORTS-1:0] in_mask,
    input  wire axis_t [NUM_PORTS-1:0]                in_axis,
    input  wire logic  [NUM_PORTS-1:0][   USER_W-1:0] in_tuser,
    input  wire logic  [NUM_PORTS-1:0]                in_tvalid,
    output logic       [NUM_PORTS-1:0]                in_pop,
    // outputs
    output axis_t      [NUM_PORTS-1:0]                m_axis,
    output logic       [NUM_PORTS-1:0][   USER_W-1:0] m_axis_tuser,
    output logic       [NUM_PORTS-1:0]                m_axis_tvalid,
    input  wire logic  [NUM_PORTS-1:0]                m_axis_tready
);

  localparam int KEEP_W = DATA_W / 8;
  localparam int PTR_W = (NUM_PORTS > 1) ? $clog2(NUM_PORTS) : 1;
  localparam int O_W = DATA_W + KEEP_W + 1 + USER_W;

  `ASSERT_PARAM(g_check_ports, NUM_PORTS >= 2 && NUM_PORTS <= 256,
                $sformatf("NUM_PORTS (%0d) must be 2..256", NUM_PORTS))

  // ---------------------------------------------------------------- allocation
  // Rotating priority over inputs. Walking from the priority pointer, a waiting
  // input is granted when none of its outputs is locked or claimed; either way it
  // claims its outputs, so a waiting multi-output frame is never starved by
  // lower-priority frames. The pointer goes to the first waiting input of the walk
  // and passes it (to the input after it) only once it is granted: the oldest
  // waiter keeps top priority until served, and after it the next input in turn
  // gets it, so inputs contending for one output alternate frame by frame (a
  // pointer that stepped by one would serve the input after an idle one twice).
  logic [NUM_PORTS-1:0] active_reg, active_next;
  logic [NUM_PORTS-1:0][NUM_PORTS-1:0] amask_reg, amask_next;
  logic [PTR_W-1:0] ptr_reg, ptr_next;
  logic [NUM_PORTS-1:0] grant, sel;
  logic                                waiter;  // first waiting input of the walk seen
  logic [NUM_PORTS-1:0][NUM_PORTS-1:0] cur_mask;
  logic [NUM_PORTS-1:0] locked, claimed, out_rdy, out_wr;
  logic [NUM_PORTS-1:0][O_W-1:0] out_data;

  always_comb begin
    locked = '0;
    for (int i = 0; i < NUM_PORTS; i++) begin
      if (active_reg[i]) begin
        locked |= amask_reg[i];
      end
    end
    claimed  = locked;
    grant    = '0;
    waiter   = 1'b0;
    ptr_next = ptr_reg;
    for (int k = 0; k < NUM_PORTS; k++) begin
      int i;
      i = (int'(ptr_reg) + k) % NUM_PORTS;
      if (in_req[i] && !active_reg[i]) begin
        if ((in_mask[i] & claimed) == '0) begin
          grant[i] = 1'b1;
        end
        claimed |= in_mask[i];
        if (!waiter) begin
          waiter   = 1'b1;
          ptr_next = grant[i] ? PTR_W'((i + 1) % NUM_PORTS) : PTR_W'(i);
        end
      end
    end

    for (int i = 0; i < NUM_PORTS; i++) begin
      sel[i]         = active_reg[i] || grant[i];
      cur_mask[i]    = active_reg[i] ? amask_reg[i] : in_mask[i];
      in_pop[i]      = sel[i] && in_tvalid[i] && ((cur_mask[i] & ~out_rdy) == '0);
      active_next[i] = sel[i] && !(in_pop[i] && in_axis[i].last);
      amask_next[i]  = grant[i] ? in_mask[i] : amask_reg[i];
    end

    out_wr   = '0;
    out_data = '0;
    for (int o = 0; o < NUM_PORTS; o++) begin
      for (int i = 0; i < NUM_PORTS; i++) begin
        if (in_pop[i] && cur_mask[i][o]) begin
          out_wr[o] = 1'b1;
          out_data[o] = {
            in_tuser[i], in_axis[i].last, in_axis[i].keep[KEEP_W-1:0], in_axis[i].data[DATA_W-1:0]
          };
        end
      end
    end

  end

  always_ff @(posedge clk) begin
    amask_reg <= amask_next;
    if (rst) begin
      active_reg <= '0;
      ptr_reg    <= '0;
    end else begin
      active_reg <= active_next;
      ptr_reg    <= ptr_next;
    end
  end

  // ---------------------------------------------------------------- output buffers
  for (genvar o = 0; o < NUM_PORTS; o++) begin : g_out
    logic [   O_W-1:0] head;
    logic [DATA_W-1:0] head_data;
    logic [KEEP_W-1:0] head_keep;
    logic              head_last;
    logic [       1:0] unused_count;

    // out_wr only while out_rdy (in_pop needs every output of the frame ready)
    prim_fifo #(
        .WIDTH(O_W),
        .DEPTH(2),
        .CHECK_OVERFLOW(1'b1)
    ) u_obuf (
        .clk,
        .rst,
        .clr(1'b0),
        .s_data(out_data[o]),
        .s_valid(out_wr[o]),
        .s_ready(out_rdy[o]),
        .m_data(head),
        .m_valid(m_axis_tvalid[o]),
        .m_ready(m_axis_tready[o]),
        .count(unused_count)
    );

    assign {m_axis_tuser[o], head_last, head_keep, head_data} = head;
    assign m_axis[o] = '{
            data: AXI_DATA_W'(head_data),
            keep: AXI_STRB_W'(head_keep),
            last: head_last
        };
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      for (int i = 0; i < NUM_PORTS; i++) begin
        for (int j = i + 1; j < NUM_PORTS; j++) begin
          assert (!(sel[i] && sel[j] && (cur_mask[i] & cur_mask[j]) != '0))
          else $error("%m: inputs %0d and %0d own the same output", i, j);
        end
        assert (!(sel[i] && cur_mask[i] == '0))
        else $error("%m: input %0d with empty mask", i);
      end
    end
  end
`endif

endmodule

`resetall
